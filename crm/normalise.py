"""One spelling for what people type, used by forms, imports, search and jobs
alike: phones as E.164, e-mails lower-cased, names with their spaces tidied.
Each function returns the standard form or raises ValidationError with a code
and a translated message fit to show next to the field."""

from __future__ import annotations

import functools
import re
import unicodedata

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _
from phonenumbers import PhoneNumberFormat

DEFAULT_REGION = "CN"
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―.·/()（）]+")
_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_SPACE_BETWEEN_CJK = re.compile(rf"(?<=[{_CJK}])\s+(?=[{_CJK}])")
_VALID_TYPES = {
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    phonenumbers.PhoneNumberType.TOLL_FREE,
    phonenumbers.PhoneNumberType.SHARED_COST,
    phonenumbers.PhoneNumberType.VOIP,
    phonenumbers.PhoneNumberType.UAN,
    phonenumbers.PhoneNumberType.PERSONAL_NUMBER,
}


def _invalid_phone(raw: str) -> ValidationError:
    return ValidationError(
        _("“%(value)s” is not a phone number. Enter e.g. 138 0013 8000 or 010-8888 8888."),
        code="invalid_phone",
        params={"value": raw[:40]},
    )


_CN_MOBILE = re.compile(r"(?:\+86)?(1\d{10})")


@functools.lru_cache(maxsize=4096)
def _cn_mobile_block_valid(block: str) -> bool:
    """Whether the mobiles starting with these seven digits are valid (any last four)."""
    number = phonenumbers.parse(block + "0000", "CN")
    return phonenumbers.is_valid_number(number) and (
        phonenumbers.number_type(number) in _VALID_TYPES
    )


def phone_normalise(raw: str, *, region: str = DEFAULT_REGION) -> str:
    """Any usual spelling of a phone number → E.164 ("+8613800138000")."""
    text = unicodedata.normalize("NFKC", raw or "").strip()
    if not text:
        return ""
    compact = _SEPARATORS.sub("", text)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    elif re.fullmatch(r"861[3-9]\d{9}", compact):
        compact = "+" + compact  # "86" typed without the plus
    if not re.fullmatch(r"\+?\d{5,17}", compact):
        raise _invalid_phone(raw)
    mobile = _CN_MOBILE.fullmatch(compact) if region == "CN" else None
    if mobile is not None:
        # Imports parse a hundred thousand mobiles; whether one is valid depends
        # only on its first seven digits (the 号段), so ask phonenumbers once per 号段.
        national = mobile.group(1)
        if not _cn_mobile_block_valid(national[:7]):
            raise _invalid_phone(raw)
        return "+86" + national
    try:
        number = phonenumbers.parse(compact, region)
    except phonenumbers.NumberParseException:
        raise _invalid_phone(raw) from None
    if not phonenumbers.is_valid_number(number) or (
        phonenumbers.number_type(number) not in _VALID_TYPES
    ):
        raise _invalid_phone(raw)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_display(e164: str) -> str:
    """ "+8613800138000" → "+86 138 0013 8000"."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def phone_mask(e164: str) -> str:
    """ "+8613800138000" → "138****8000": enough to recognise, not to call."""
    if not e164:
        return ""
    # A Chinese mobile needs no parsing.
    if e164.startswith("+861") and len(e164) == 14:
        return e164[3:6] + "****" + e164[-4:]
    area = _area_code(e164)
    if area:  # a landline shows its area code as dialled: 021****8888
        return area + "****" + e164[-4:]
    national = _national(e164)
    if len(national) <= 4:
        return "*" * len(national)
    keep = 3 if len(national) >= 10 else 2
    return national[:keep] + "****" + national[-4:]


def _area_code(e164: str) -> str:
    """A landline's area code with its trunk prefix as people dial it ("021",
    "0755"), or "" for numbers without one (mobiles, unparseable)."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return ""
    length = phonenumbers.length_of_geographical_area_code(number)
    if not length:
        return ""
    national = str(number.national_number)
    dialled = re.sub(r"\D", "", phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL))
    trunk = dialled[: len(dialled) - len(national)] if dialled.endswith(national) else ""
    return trunk + national[:length]


def _national(e164: str) -> str:
    try:
        return str(phonenumbers.parse(e164, None).national_number)
    except phonenumbers.NumberParseException:
        return re.sub(r"\D", "", e164)


def email_normalise(raw: str) -> str:
    value = unicodedata.normalize("NFKC", raw or "").strip().lower()
    if not value:
        return ""
    try:
        validate_email(value)
    except ValidationError:
        raise ValidationError(
            _("“%(value)s” is not an e-mail address."),
            code="invalid_email",
            params={"value": raw[:60]},
        ) from None
    return value


def email_mask(email: str) -> str:
    """ "zhangsan@example.com" → "z***@example.com"."""
    if not email or "@" not in email:
        return email and "***"
    local, domain = email.split("@", 1)
    return f"{local[:1]}***@{domain}"


def name_normalise(raw: str) -> str:
    """Trim, fold full-width forms and runs of spaces; no space between Chinese characters."""
    value = unicodedata.normalize("NFKC", raw or "")
    value = " ".join(value.split())
    return _SPACE_BETWEEN_CJK.sub("", value)


def length_check(errors: dict, field: str, value: str, limit: int) -> str:
    """Note on `errors[field]` when `value` is longer than `limit` (one wording
    for every form, import and service); returns the value."""
    if len(value) > limit:
        errors.setdefault(field, []).append(
            ValidationError(
                _("At most %(max)d characters (it has %(length)d)."),
                code="max_length",
                params={"max": limit, "length": len(value)},
            )
        )
    return value


def id_param(value: object) -> int | None:
    """An id from a query string or form (ASCII digits only: "²" or "٣" pass
    str.isdigit() but are no id); None for anything else."""
    text = str(value or "")
    if text.isascii() and text.isdecimal() and len(text) <= 18:
        return int(text)
    return None
