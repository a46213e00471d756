"""How the customer page's history names the changes that are not the
customer's own fields (its contacts, phones, tags…); apps above customers add
the keys they write (`register_history_key`, in their AppConfig.ready())."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

HISTORY_LABELS = {
    "phones": _("phones"),
    "emails": _("e-mails"),
    "tags": _("tags"),
    "collaborators": _("collaborators"),
    "contact.name": _("contact"),
    "contact.title": _("contact's job title"),
    "contact.notes": _("contact's notes"),
    "contact.is_primary": _("primary contact"),
    "contact.phones": _("contact's phones"),
    "contact.emails": _("contact's e-mails"),
}
# Choice codes of those keys, by key.
HISTORY_CHOICES: dict[str, list] = {}


def register_history_key(key: str, label, choices=()) -> None:
    """An app above customers names a key it writes to the customer's history."""
    HISTORY_LABELS[key] = label
    if choices:
        HISTORY_CHOICES[key] = list(choices)
