"""Password rules beyond Django's own validators (settings.AUTH_PASSWORD_VALIDATORS)."""

from __future__ import annotations

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext


class UsernameInPasswordValidator:
    """A password may not contain the account's username (rep1rep1 for rep1), in any
    case: Django's similarity check passes it as not similar enough."""

    def validate(self, password, user=None):
        username = (getattr(user, "username", "") or "").casefold()
        if len(username) >= 3 and username in (password or "").casefold():
            raise ValidationError(
                _("The password may not contain your username."), code="password_has_username"
            )

    def get_help_text(self):
        return _("Your password may not contain your username.")


class MinimumLengthValidator(password_validation.MinimumLengthValidator):
    """Django's, with its message in Kehu's catalogues: Django 5.2.19 changed the
    message's wording and its Chinese catalogue has not caught up (English in the
    Chinese interface)."""

    def __init__(self, min_length=10):
        super().__init__(min_length)

    def get_error_message(self):
        return ngettext(
            "This password is too short: use at least %(count)d character.",
            "This password is too short: use at least %(count)d characters.",
            self.min_length,
        ) % {"count": self.min_length}

    def get_help_text(self):
        return ngettext(
            "Your password must contain at least %(count)d character.",
            "Your password must contain at least %(count)d characters.",
            self.min_length,
        ) % {"count": self.min_length}
