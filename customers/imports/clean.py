"""Forgiving cleaning of a register's row (客户管理簿): nothing the team typed is lost.

A row is refused only when it cannot be a customer: no name once cleaned, or,
when the company's import rules ask for it, no usable phone or e-mail. Every
other problem keeps the customer: the field's value is dropped or corrected, a
warning says what was done, and the original text goes into the customer's
import remarks (`Customer.import_remarks`, on the 360° page).

What hand-kept registers hold is understood whatever the interface language:

- placeholders (无, 暂无, -, —, 待补充, 不详, N/A, #N/A, 空 …) mean empty in any column;
- phones and e-mails as people write them (customers.imports.contacts);
- =HYPERLINK("mailto:…") and tel: links give their target; TODAY(), NOW() and
  formulas without a saved result leave the cell empty;
- in a birth-date column: every date form people type, an age (35, 35岁), which
  becomes an approximate birth year, and a year alone (1985, 1985年);
- choice columns through the company's value mapping, then the built-in words
  (both languages' labels and synonyms: 男士 is male), else empty.
"""

from __future__ import annotations

import datetime
import functools
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.normalise import name_normalise
from crm.sheets.values import (
    TOO_LONG,
    VOLATILE,
    CellError,
    Formula,
    Hyperlink,
    hyperlink_parse,
)
from customers.imports.base import PLACEHOLDERS, Warning, field_label, is_placeholder
from customers.imports.base import warning as _warn
from customers.imports.contacts import emails_forgive, phones_forgive
from customers.models import (
    ConsentSource,
    Customer,
    CustomerKind,
    FinancialStatus,
    Gender,
    Industry,
    PhoneLabel,
    RiskPreference,
)
from customers.sources import SourceLookup
from customers.standardise import (
    _CODES,
    INVALID,
    MAX_PREFERENCES,
    MAX_TAGS,
    _labels,
    customer_standardise,
    date_parse,
    split_list,
    tag_name_clean,
)

# What a choice column's value can be mapped to: the built-in choices by key.
CHOICES: dict[str, type] = {
    "gender": Gender,
    "kind": CustomerKind,
    "industry": Industry,
    "consent_source": ConsentSource,
    "financial_status": FinancialStatus,
    "risk_preference": RiskPreference,
}
BOOLEANS = ("is_key_account", "marketing_consent")
# The columns whose distinct values the wizard lets a steward map.
CHOICE_KEYS = ("gender", "source", "industry", "kind", "is_key_account", "marketing_consent")
NEW_SOURCE = "+new"  # a mapping decision: add the value as a new source channel
YES, NO = "yes", "no"  # how a mapping decision names a boolean's two values
_TRUE = frozenset({
    "1", "y", "yes", "true", "是", "对", "有", "√", "✓", "✔", "x", "是的", "要",
})  # fmt: skip
_FALSE = frozenset({"0", "n", "no", "false", "否", "不", "不是", "×", "✗", "非"})
# The importance a register gives (重要程度, 客户级别) and what a consent column says.
_KEY_TRUE = frozenset({
    "重点", "重要", "重点客户", "重要客户", "大客户", "核心", "核心客户", "vip", "key",
    "key account", "a", "a类", "a级", "高", "★★★",
})  # fmt: skip
_KEY_FALSE = frozenset({
    "一般", "普通", "普通客户", "一般客户", "小客户", "b", "c", "d", "b类", "c类", "d类", "b级",
    "c级", "中", "低", "normal", "regular",
})  # fmt: skip
_CONSENT_TRUE = frozenset({"同意", "已同意", "愿意", "接受", "允许", "opt-in", "opted in"})
_CONSENT_FALSE = frozenset({"不同意", "拒绝", "不接受", "不愿意", "退订", "opt-out", "opted out"})

_AGE = re.compile(r"(?:约|大约|~|≈)?\s*(\d{1,3})\s*(?:岁|周岁|years?(?: old)?)?")
_YEAR = re.compile(r"(?:约|大约|~|≈)?\s*((?:19|20)\d{2})\s*年?\s*(?:生|出生)?")
_YEAR_MONTH = re.compile(r"((?:19|20)\d{2})\s*[-/.年]\s*(\d{1,2})\s*月?")
TEXT_LIMITS = {"needs": 5000, "notes": 5000, "preference_notes": 5000, "address": 500}
REMARKS_LIMIT = 20_000


@dataclass
class Context:
    """What one import reads once: the source channels, the company's rules and the
    steward's value mapping ({key: {value_key(text): code, "" or NEW_SOURCE}})."""

    sources: SourceLookup
    decisions: dict[str, dict[str, str]] = field(default_factory=dict)
    require_contact: bool = False
    today: datetime.date = field(default_factory=timezone.localdate)
    # (key, raw value) → (choice, warning message, original): asked once per value
    choices: dict[tuple[str, Any], tuple[Any, str, str]] = field(default_factory=dict)
    tags: dict[str, tuple[tuple[str, ...], list[Warning]]] = field(default_factory=dict)


def text_of(value: Any) -> str:
    """A cell as text, NFKC-folded and trimmed."""
    if value is None:
        return ""
    if isinstance(value, str):
        text = value
    elif isinstance(value, Hyperlink):
        text = value.text or value.target
    elif isinstance(value, Decimal):
        text = format(value.normalize(), "f") if value == value.to_integral_value() else str(value)
    else:
        text = str(value)
    return unicodedata.normalize("NFKC", text).strip()


def value_key(text: str) -> str:
    """A choice value as a mapping remembers it: folded, without spaces."""
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


@functools.lru_cache(maxsize=4096)
def _blank(value: str) -> bool:
    """A short raw cell that holds nothing: white space or a placeholder (registers
    repeat the same few short values down a column: asked once each)."""
    text = unicodedata.normalize("NFKC", value).strip()
    return not text or text.casefold() in PLACEHOLDERS


def _label(key: str) -> str:
    return field_label(key)


# --- cells -------------------------------------------------------------------


def cell_read(key: str, value: Any, warnings: list[Warning]) -> Any:
    """A cell's usable value (None for empty), with what it was read as: a HYPERLINK's
    target for phones and e-mails, nothing for formulas without a value and errors."""
    if value.__class__ is str:
        first = value[:1]
        if first != "=" and first != "'":  # the common case first: plain text
            return None if len(value) <= 12 and _blank(value) else value
    if value is None:
        return None
    if isinstance(value, Formula):
        formula = f"={value.text.lstrip('=')}" if value.text else ""
        if VOLATILE.fullmatch(value.text):
            message = _("%(formula)s gives the day the file is opened, not a value; left empty") % {
                "formula": formula
            }
        else:
            message = _(
                "a formula without a saved result (%(formula)s); Kehu never runs "
                "formulas, so the cell is left empty"
            ) % {"formula": formula or "=?"}
        warnings.append(_warn(key, message, formula))
        return None
    if value is TOO_LONG:
        warnings.append(_warn(key, _("longer than Excel's limit of 32,767 characters; left empty")))
        return None
    if isinstance(value, CellError):
        if value.code.upper() != "#N/A":
            warnings.append(
                _warn(key, _("the Excel error %(error)s; left empty") % {"error": value.code})
            )
        return None
    if isinstance(value, str):
        if value[:1] == "=":
            link = hyperlink_parse(value)  # a CSV holding the formula's text
            if link is not None:
                value = link
        elif value[:1] == "'" and value[1:2] in ("=", "+", "-", "@", "\t", "\r"):
            value = value[1:]  # a CSV export's guard against formulas, not data
    if isinstance(value, Hyperlink):
        target = value.target
        scheme, __, rest = target.partition(":")
        if key in ("phones", "emails") and scheme.lower() in ("mailto", "tel"):
            return rest.split("?", 1)[0]
        return value.text or target
    if isinstance(value, str):
        text = unicodedata.normalize("NFKC", value).strip()
        return None if not text or is_placeholder(text) else value
    return value


# --- choices -----------------------------------------------------------------


def _boolean(key: str, text: str) -> bool | None:
    folded = text.casefold()
    if folded in _TRUE:
        return True
    if folded in _FALSE:
        return False
    if key == "is_key_account":
        if folded in _KEY_TRUE:
            return True
        if folded in _KEY_FALSE:
            return False
    if key == "marketing_consent":
        if folded in _CONSENT_TRUE:
            return True
        if folded in _CONSENT_FALSE:
            return False
    return None


def choice_builtin(key: str, text: str, sources: SourceLookup) -> str | None:
    """What Kehu understands by itself: the choice's code, a label in either language
    or a known synonym (for sources, the company's channel names and synonyms);
    booleans as YES or NO. None when it does not know the word."""
    if key == "source":
        return sources.resolve(text)
    if key in BOOLEANS:
        value = _boolean(key, text)
        return None if value is None else (YES if value else NO)
    labels = _labels(CHOICES[key])
    if text in labels[_CODES]:
        return text
    return labels.get(text.casefold())


def choice_forgive(key: str, value: Any, ctx: Context, warnings: list[Warning]) -> Any:
    """The code (or True/False) for a choice column's value, or None with a warning."""
    if isinstance(value, bool):
        return value if key in BOOLEANS else None
    cached = ctx.choices.get((key, value))
    if cached is not None:  # registers repeat a few values down a column
        choice, message, original = cached
        if message:
            warnings.append(_warn(key, message, original))
        return choice
    before = len(warnings)
    choice = _choice_forgive(key, value, ctx, warnings)
    if len(ctx.choices) < 10_000 and value.__class__ is str:
        warned = warnings[before:]
        ctx.choices[key, value] = (
            choice,
            warned[0].message if warned else "",
            warned[0].original if warned else "",
        )
    return choice


def _choice_forgive(key: str, value: Any, ctx: Context, warnings: list[Warning]) -> Any:
    text = text_of(value)
    decided = ctx.decisions.get(key, {}).get(value_key(text))
    if decided is None:
        decided = choice_builtin(key, text, ctx.sources)
        if decided == "":
            return None  # a word for "not given" (未知, 保密)
        if decided is None:
            message = _("“%(value)s” is not one of the choices; left empty") % {"value": text}
            warnings.append(_warn(key, message, text))
            return None
    elif decided == "":
        message = _("“%(value)s” is left empty, as the value mapping says") % {"value": text}
        warnings.append(_warn(key, message, text))
        return None
    if decided == NEW_SOURCE:
        return f"{NEW_SOURCE}{text}"  # created with the import (write.py)
    if key in BOOLEANS:
        return decided == YES
    return decided


# --- dates -------------------------------------------------------------------


def birth_forgive(
    value: Any, ctx: Context, warnings: list[Warning]
) -> tuple[datetime.date | None, int | None]:
    """(birth date, approximate birth year) from a birth-date cell."""
    today = ctx.today
    if isinstance(value, datetime.datetime | datetime.date) or (
        isinstance(value, int | Decimal | float) and not isinstance(value, bool)
    ):
        number = None if isinstance(value, datetime.date) else value
        text = text_of(value)
    else:
        text = text_of(value)
        number = None
    if number is not None and number == int(number):
        number = int(number)
        if 0 < number <= 120:
            return _from_age(number, text, ctx, warnings)
        if 1900 <= number <= today.year:
            return None, number
    if number is None and not isinstance(value, datetime.date):
        if match := _AGE.fullmatch(text):
            age = int(match.group(1))
            if 0 < age <= 120:
                return _from_age(age, text, ctx, warnings)
        if match := _YEAR.fullmatch(text):
            year = int(match.group(1))
            if 1900 <= year <= today.year:
                return None, year
    day = date_parse(value)
    if day is INVALID and number is None and (match := _YEAR_MONTH.fullmatch(text)):
        year = int(match.group(1))
        if 1900 <= year <= today.year and 1 <= int(match.group(2)) <= 12:
            warnings.append(
                _warn(
                    "birth_date",
                    _("“%(value)s” gives no day; kept as the birth year %(year)d")
                    % {"value": text, "year": year},
                    text,
                )
            )
            return None, year
    if day is INVALID or day is None:
        if day is INVALID:
            warnings.append(
                _warn("birth_date", _("“%(value)s” is not a date") % {"value": text[:40]}, text)
            )
        return None, None
    if day > today:
        warnings.append(
            _warn("birth_date", _("%(day)s is in the future") % {"day": day.isoformat()}, text)
        )
        return None, None
    if day.year < 1900:
        warnings.append(
            _warn("birth_date", _("%(day)s is before 1900") % {"day": day.isoformat()}, text)
        )
        return None, None
    return day, None


def _from_age(age: int, text: str, ctx: Context, warnings: list[Warning]):
    year = ctx.today.year - age
    warnings.append(
        _warn(
            "birth_date",
            _("an age (%(value)s), kept as the approximate birth year %(year)d")
            % {"value": text, "year": year},
            text,
        )
    )
    return None, year


# --- lists and text ------------------------------------------------------------


def tags_forgive(text: str, ctx: Context, warnings: list[Warning]) -> list[str]:
    cached = ctx.tags.get(text)
    if cached is not None:  # a register repeats its few tags down the column
        names, warned = cached
        warnings.extend(warned)
        return list(names)
    before = len(warnings)
    names = _tags_forgive(text, warnings)
    if len(ctx.tags) < 10_000:
        ctx.tags[text] = (tuple(names), warnings[before:])
    return names


def _tags_forgive(text: str, warnings: list[Warning]) -> list[str]:
    names: list[str] = []
    for raw in split_list(text):
        if is_placeholder(raw):
            continue
        try:
            name = tag_name_clean(raw)
        except ValidationError as exc:
            warnings.append(_warn("tags", " ".join(exc.messages), raw))
            continue
        if name.casefold() not in {n.casefold() for n in names}:
            names.append(name)
    if len(names) > MAX_TAGS:
        warnings.append(
            _warn(
                "tags",
                _("more than %(count)d tags; the first %(count)d are kept") % {"count": MAX_TAGS},
                "、".join(names[MAX_TAGS:]),
            )
        )
        names = names[:MAX_TAGS]
    return names


def preferences_forgive(key: str, text: str, warnings: list[Warning]) -> list[str]:
    items = []
    for item in split_list(text):
        if is_placeholder(item):
            continue
        if len(item) > 50:
            warnings.append(_warn(key, _("an entry over 50 characters; left out"), item))
        elif item not in items:
            items.append(item)
    if len(items) > MAX_PREFERENCES:
        warnings.append(
            _warn(
                key,
                _("more than %(count)d entries; the first %(count)d are kept")
                % {"count": MAX_PREFERENCES},
                "、".join(items[MAX_PREFERENCES:]),
            )
        )
        items = items[:MAX_PREFERENCES]
    return items


def text_limit(key: str) -> int | None:
    if key in TEXT_LIMITS:
        return TEXT_LIMITS[key]
    try:
        return Customer._meta.get_field(key).max_length
    except FieldDoesNotExist:  # "address": not a model field
        return None


def text_forgive(key: str, text: str, warnings: list[Warning]) -> str:
    limit = text_limit(key)
    if limit and len(text) > limit:
        warnings.append(
            _warn(
                key,
                _("longer than %(max)d characters; shortened, the whole text is kept")
                % {"max": limit},
                text,
            )
        )
        return text[:limit]
    return text


def remarks_lines(heading: str, warnings: list[Warning]) -> str:
    """The import remarks one row adds: a heading, then "Field: original — why"."""
    lines = [heading]
    for warning in warnings:
        if warning.original and f"“{warning.original}”" in warning.message:
            lines.append(f"{_label(warning.key)}: {warning.message}")  # it quotes the text
        elif warning.original:
            lines.append(f"{_label(warning.key)}: {warning.original} — {warning.message}")
    return "\n".join(lines) if len(lines) > 1 else ""


# --- the row -------------------------------------------------------------------

_TEXT, _CHOICE, _PHONES, _EMAILS, _BIRTH, _TAGS, _LIST, _STRICT_TEXT = range(8)
_KIND = {
    **dict.fromkeys(
        ("company", "title", "province", "city", "district", "address", "needs", "notes",
         "preference_notes", "privacy_notice_version"),
        _TEXT,
    ),
    **dict.fromkeys((*CHOICES, *BOOLEANS, "source"), _CHOICE),
    "phones": _PHONES, "emails": _EMAILS, "birth_date": _BIRTH, "tags": _TAGS,
    **dict.fromkeys(("preferred_categories", "preferred_brands", "preferred_colours"), _LIST),
    **dict.fromkeys(("number", "uscc", "postcode"), _STRICT_TEXT),
}  # fmt: skip
_LIMITS = {key: text_limit(key) for key, kind in _KIND.items() if kind == _TEXT}


def row_forgive(
    raw: dict[str, Any], ctx: Context, warnings: list[Warning]
) -> tuple[dict[str, Any] | None, str]:
    """Clean a row's values (as `cell_read` gave them, by register key). Returns the
    customer's values, or None and why the row cannot be a customer."""

    name = name_normalise(text_of(raw.get("name")))
    if not name or is_placeholder(name):
        return None, _("%(field)s: Enter the customer's name.") % {"field": _label("name")}
    limit = text_limit("name")
    if len(name) > limit:
        warnings.append(
            _warn("name", _("longer than %(max)d characters; shortened") % {"max": limit}, name)
        )
        name = name[:limit]
    values: dict[str, Any] = {}
    strict: dict[str, Any] = {"name": name}
    for key, value in raw.items():
        kind = _KIND.get(key)
        if kind == _TEXT:  # checked by customer_standardise, NFKC included
            text = value if value.__class__ is str else text_of(value)
            limit = _LIMITS.get(key)
            strict[key] = text_forgive(key, text, warnings) if limit and len(text) > limit else text
        elif kind == _CHOICE:
            choice = choice_forgive(key, value, ctx, warnings)
            if choice is not None:
                (strict if key == "kind" else values)[key] = choice
        elif kind == _PHONES:
            phones = phones_forgive(value if value.__class__ is str else text_of(value), warnings)
            values["phones"] = [p.number for p in phones]
            meta = {
                p.number: (p.label, p.note, p.wechat)
                for p in phones
                if p.note or p.wechat or p.label != PhoneLabel.MOBILE
            }
            if meta:
                values["phone_meta"] = meta
        elif kind == _EMAILS:
            values["emails"] = emails_forgive(
                value if value.__class__ is str else text_of(value), warnings
            )
        elif kind == _BIRTH:
            day, year = birth_forgive(value, ctx, warnings)
            if day is not None:
                values["birth_date"] = day
            elif year is not None:
                values["birth_year"] = year
        elif kind == _TAGS:
            values["tags"] = tags_forgive(text_of(value), ctx, warnings)
        elif kind == _LIST:
            values[key] = preferences_forgive(key, text_of(value), warnings)
        elif kind == _STRICT_TEXT:
            strict[key] = text_of(value)
    if strict.get("uscc") and "kind" not in strict:
        strict["kind"] = CustomerKind.COMPANY
    source = values.pop("source", None)
    if source and not source.startswith(NEW_SOURCE):
        strict["source"] = source
    # What is left is checked as a form checks it; a field it refuses is dropped
    # with a warning and the rest checked again.
    for __ in range(3):
        try:
            cleaned = customer_standardise(strict, sources=ctx.sources)
            break
        except ValidationError as exc:
            for key, errors in exc.error_dict.items():
                key = "address" if key == "street" and "address" in strict else key
                if key == "name":
                    message = "; ".join(m for e in errors for m in e.messages)
                    return None, f"{_label('name')}: {message}"
                message = "; ".join(m for e in errors for m in e.messages).rstrip("。.")
                original = text_of(strict.pop(key, ""))
                if (
                    key == "uscc"
                    and strict.get("kind") == CustomerKind.COMPANY
                    and "kind" not in raw
                ):
                    strict.pop("kind", None)
                warnings.append(_warn(key, message, original))
    else:  # pragma: no cover - every refused field is dropped above
        return None, _("The row could not be read.")
    values.update(cleaned)
    if source and source.startswith(NEW_SOURCE):
        values["source"] = source
    if ctx.require_contact and not values.get("phones") and not values.get("emails"):
        return None, _("No usable phone or e-mail, which the company's import rules ask for.")
    return values, ""


def remarks_join(old: str, new: str) -> str:
    """Remarks added under the earlier ones, within REMARKS_LIMIT (the newest kept)."""
    joined = "\n\n".join(filter(None, [old, new]))
    return joined[-REMARKS_LIMIT:] if len(joined) > REMARKS_LIMIT else joined
