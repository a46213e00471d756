"""Standard spellings of what people type, shared by forms, services and search."""

from __future__ import annotations

import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


def mobile_normalise(raw: str) -> str:
    """A staff mobile number in one spelling: '+' and digits, Chinese numbers as +86….

    Customer phones get the full phonenumbers treatment in the customers app;
    this covers the people directory.
    """
    value = unicodedata.normalize("NFKC", raw or "").strip()
    if not value:
        return ""
    plus = value.startswith("+")
    digits = "".join(ch for ch in value if ch.isdigit())
    if value.startswith("00"):
        plus, digits = True, digits[2:]
    if not plus and len(digits) == 11 and digits.startswith("1"):
        digits = "86" + digits
        plus = True
    if not plus and len(digits) == 13 and digits.startswith("861"):
        plus = True
    if not 6 <= len(digits) <= 15 or not plus:
        raise ValidationError(
            {"mobile": _("Enter a mobile number such as 138 0013 8000 or +86 138 0013 8000.")},
            code="invalid_mobile",
        )
    return "+" + digits
