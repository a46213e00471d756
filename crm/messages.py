"""Flash messages from service errors."""

from django.contrib import messages
from django.core.exceptions import ValidationError


def messages_error(request, exc: ValidationError) -> None:
    """Each message of a service's ValidationError as an error on the next page."""
    for message in exc.messages:
        messages.error(request, message)
