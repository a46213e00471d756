"""Standardisation of customer data on the way in: one service for the forms, the
Excel import and any API, so a phone typed three ways is stored one way.

`customer_standardise(data)` takes raw values (strings from a form or a sheet,
or already typed values) and returns clean ones, or raises one ValidationError
keyed by field with every problem found, in the user's language.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from pypinyin import lazy_pinyin
from stdnum.cn import uscc as stdnum_uscc
from stdnum.exceptions import ValidationError as StdnumError

from crm.normalise import email_normalise, length_check, name_normalise, phone_normalise
from customers.address import address_split
from customers.models import (
    ConsentSource,
    Customer,
    CustomerKind,
    FinancialStatus,
    Gender,
    Industry,
    RiskPreference,
    Stage,
    Tag,
)
from customers.sources import SourceLookup

MAX_PHONES = 5
MAX_EMAILS = 5
MAX_TAGS = 20
MAX_PREFERENCES = 20
_LIST_SPLIT = re.compile(r"[,，;；、\n\r]+")
_TAG_FORBIDDEN = re.compile(r"[<>&\"'`{}\\/\x00-\x1f]")
_NUMBER = re.compile(r"[A-Z0-9][A-Z0-9\-_]{0,19}")
_POSTCODE = re.compile(r"\d{6}")

# Two-character surnames, read as one word (pypinyin knows their readings).
COMPOUND_SURNAMES = frozenset((
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒",
    "夏侯", "轩辕", "令狐", "万俟", "单于", "澹台", "公冶", "宗政", "濮阳", "淳于", "太叔", "申屠",
    "钟离", "闻人", "赫连", "呼延", "东郭", "南宫", "西门", "百里", "独孤", "端木", "拓跋", "亓官",
    "司空", "仲孙", "左丘", "第五", "巫马", "公羊", "梁丘", "谷梁", "段干",
))  # fmt: skip
# Family names read differently from the same character elsewhere (曾经 ceng, 曾先生 zeng).
SURNAME_PINYIN = {
    "曾": "zeng",
    "单": "shan",
    "解": "xie",
    "仇": "qiu",
    "区": "ou",
    "查": "zha",
    "朴": "piao",
    "乐": "yue",
    "覃": "qin",
    "盖": "ge",
    "缪": "miao",
    "翟": "zhai",
    "秘": "bi",
    "种": "chong",
    "尉": "yu",
    "长": "chang",
    "重": "chong",
    "柏": "bai",
    "宿": "su",
    "員": "yun",
}


INVALID = object()  # what date_parse and boolean_parse return for unreadable input
_DATE_PARTS = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_DATE_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_TRUE = frozenset({"1", "y", "yes", "true", "是", "对", "有", "√", "✓", "✔", "x"})
_FALSE = frozenset({"0", "n", "no", "false", "否", "不", "无", "×", "✗"})
# Excel's day numbers for 1900-01-01 and 9999-12-31: a date typed into a General cell.
_EXCEL_SERIALS = range(1, 2_958_466)


def date_parse(value: Any) -> datetime.date | object | None:
    """A date from a form, a sheet cell or text (2024/3/5, 2024-03-05, 2024年3月5日,
    2024.3.5, 20240305, or an Excel day number); None when empty, INVALID when not a date."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if int(value) in _EXCEL_SERIALS and int(value) > 366:
            return datetime.date(1899, 12, 30) + datetime.timedelta(days=int(value))
        return INVALID
    text = _text(value)
    if not text:
        return None
    match = _DATE_PARTS.fullmatch(text) or _DATE_COMPACT.fullmatch(text)
    if match is None:
        # An ISO date-time ("1990-03-05T00:00:00", "1990-03-05 00:00") keeps its date.
        with contextlib.suppress(ValueError):
            return datetime.datetime.fromisoformat(text).date()
        return INVALID
    try:
        return datetime.date(*(int(part) for part in match.groups()))
    except ValueError:
        return INVALID


def boolean_parse(value: Any) -> bool | object:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    text = _text(value).casefold()
    if text == "" or text in _FALSE:
        return False
    if text in _TRUE:
        return True
    return INVALID


_NOT_PINYIN = re.compile(r"[^0-9a-z]")


def _text(value: Any) -> str:
    if value is None:
        return ""
    return unicodedata.normalize("NFKC", str(value)).strip()


def split_list(value: Any) -> list[str]:
    """A list, or text separated by commas, semicolons, 、 or new lines."""
    if value is None:
        return []
    items = value if isinstance(value, list | tuple) else _LIST_SPLIT.split(str(value))
    out: list[str] = []
    for item in items:
        text = " ".join(_text(item).split())
        if text and text not in out:
            out.append(text)
    return out


@functools.lru_cache(maxsize=65_536)
def _syllables(text: str) -> tuple[str, ...]:
    """Lower-case pinyin syllables of the text; Latin letters and digits pass through."""
    out = []
    for syllable in lazy_pinyin(text, errors=lambda chars: list(chars)):
        cleaned = _NOT_PINYIN.sub("", syllable.lower())
        if cleaned:
            out.append(cleaned)
    return tuple(out)


def name_pinyin(name: str, *, kind: str = CustomerKind.PERSON) -> tuple[str, str]:
    """ "张三" → ("zhangsan", "zs"); Latin letters and digits pass through, lower-cased.

    A person's surname is read as a surname (单 shan, 曾 zeng) and the given name
    on its own, which is also what makes this fast: given names repeat far more
    than whole names, and their syllables are cached.
    """
    if kind == CustomerKind.PERSON and name[:2] in COMPOUND_SURNAMES:
        syllables = (*_syllables(name[:2]), *_syllables(name[2:]))  # 万俟 moqi, 尉迟 yuchi
    elif kind == CustomerKind.PERSON and name and name[0] >= "\u3400":
        surname = SURNAME_PINYIN.get(name[0])
        syllables = (*((surname,) if surname else _syllables(name[0])), *_syllables(name[1:]))
    else:
        syllables = _syllables(name)
    return "".join(syllables)[:400], "".join(s[0] for s in syllables)[:100]


def search_key(text: str) -> str:
    """What n-grams are cut from: folded, lower-cased, without white space."""
    return "".join(unicodedata.normalize("NFKC", text or "").casefold().split())


def grams_of(text: str) -> list[str]:
    """Every single character and every pair of neighbours of the text."""
    key = search_key(text)
    grams = set(key)
    grams.update(key[i : i + 2] for i in range(len(key) - 1))
    return sorted(grams)


def search_grams(name: str, company: str = "") -> list[str]:
    return sorted(_company_grams(company).union(grams_of(name)))


@functools.lru_cache(maxsize=4096)
def _company_grams(company: str) -> frozenset[str]:
    """Companies repeat down a register (colleagues at one employer): cut once."""
    return frozenset(grams_of(company))


def query_grams(query: str) -> list[str]:
    """The grams a row must hold to contain the query: the query itself when it is
    one or two characters, else its pairs (rows are then re-checked by substring)."""
    key = search_key(query)
    if len(key) <= 2:
        return [key] if key else []
    return sorted({key[i : i + 2] for i in range(len(key) - 1)})


def _normalised_list(value: Any, normalise) -> tuple[list[str], list[str]]:
    """Split a list box and normalise each entry: (clean values, deduplicated; refused)."""
    clean, bad = [], []
    for raw in split_list(value):
        try:
            item = normalise(raw)
        except ValidationError:
            bad.append(raw)
            continue
        if item and item not in clean:
            clean.append(item)
    return clean, bad


def phones_parse(value: Any) -> list[str]:
    phones, bad = _normalised_list(value, phone_normalise)
    if bad:
        raise ValidationError(
            _("Not a phone number: %(values)s. Enter e.g. 138 0013 8000 or 010-8888 8888."),
            code="invalid_phone",
            params={"values": "、".join(bad)[:80]},
        )
    if len(phones) > MAX_PHONES:
        raise ValidationError(
            _("At most %(count)d phone numbers."), code="too_many", params={"count": MAX_PHONES}
        )
    return phones


def emails_parse(value: Any) -> list[str]:
    emails, bad = _normalised_list(value, email_normalise)
    if bad:
        raise ValidationError(
            _("Not an e-mail address: %(values)s."),
            code="invalid_email",
            params={"values": "、".join(bad)[:80]},
        )
    if len(emails) > MAX_EMAILS:
        raise ValidationError(
            _("At most %(count)d e-mail addresses."), code="too_many", params={"count": MAX_EMAILS}
        )
    return emails


def tag_name_clean(raw: Any) -> str:
    name = " ".join(_text(raw).split())
    if not name:
        raise ValidationError(_("Enter a tag."), code="required")
    if _TAG_FORBIDDEN.search(name):
        raise ValidationError(
            _("“%(tag)s”: a tag is plain text, without < > & \" ' / or \\."),
            code="invalid_tag",
            params={"tag": name[:30]},
        )
    max_length = Tag._meta.get_field("name").max_length
    if len(name) > max_length:
        raise ValidationError(
            _("“%(tag)s” is too long: a tag has at most %(max)d characters."),
            code="tag_too_long",
            params={"tag": name[:30], "max": max_length},
        )
    return name


def tags_parse(value: Any) -> list[str]:
    names: list[str] = []
    for raw in split_list(value):
        name = tag_name_clean(raw)
        if name.casefold() not in {existing.casefold() for existing in names}:
            names.append(name)
    if len(names) > MAX_TAGS:
        raise ValidationError(
            _("At most %(count)d tags."), code="too_many", params={"count": MAX_TAGS}
        )
    return names


def uscc_clean(raw: Any) -> str:
    value = re.sub(r"[\s\-]", "", _text(raw)).upper()
    if not value:
        return ""
    try:
        return stdnum_uscc.validate(value)
    except StdnumError:
        raise ValidationError(
            _(
                "“%(value)s” is not a valid unified social credit code: it has 18 "
                "characters and the last one is a check character."
            ),
            code="invalid_uscc",
            params={"value": value[:20]},
        ) from None


def number_clean(raw: Any) -> str:
    value = _text(raw).upper()
    if value and not _NUMBER.fullmatch(value):
        raise ValidationError(
            _("A customer number has up to 20 letters, digits, - or _."), code="invalid_number"
        )
    return value


# Words people type in registers for a choice, besides its labels in both languages.
CHOICE_SYNONYMS: dict[type, dict[str, str]] = {
    Gender: {
        "男性": "male", "m": "male", "先生": "male", "男士": "male", "mr": "male", "mr.": "male",
        "女性": "female", "f": "female", "女士": "female", "小姐": "female", "ms": "female",
        "ms.": "female", "mrs": "female", "mrs.": "female", "miss": "female",
        "未知": "", "保密": "", "unknown": "",
    },
    Stage: {
        "潜在": "lead", "潜在客户": "lead", "线索": "lead", "意向客户": "lead",
        "活跃": "active", "成交": "active", "成交客户": "active", "已成交": "active",
        "有风险": "at_risk", "风险": "at_risk", "流失": "churned", "已流失": "churned",
    },
    CustomerKind: {
        "个人客户": "person", "个体": "person", "individual": "person",
        "企业": "company", "公司": "company", "企业客户": "company", "单位": "company",
        "organisation": "company", "organization": "company", "business": "company",
    },
}  # fmt: skip


_CODES = object()  # key of the set of codes in _labels' answer


@functools.cache
def _labels(choices: type) -> dict:
    """Label → code, in both languages and the usual synonyms: imports carry labels
    as people type them."""
    by_label = {}
    for language in ("en", "zh-hans"):
        with translation.override(language):
            by_label.update({str(label).casefold(): key for key, label in choices.choices})
    by_label.update(CHOICE_SYNONYMS.get(choices, {}))
    by_label[_CODES] = frozenset(choices.values)
    return by_label


def _choice(value: Any, choices: type, field: str, errors: dict) -> str:
    text = _text(value)
    by_label = _labels(choices)
    if text in by_label[_CODES]:
        return text
    if text.casefold() in by_label:
        return by_label[text.casefold()]
    errors.setdefault(field, []).append(
        ValidationError(
            _("“%(value)s” is not one of the choices."),
            code="invalid_choice",
            params={"value": text},
        )
    )
    return ""


def _max_length(value: str, field: str, errors: dict) -> str:
    limit = getattr(Customer._meta.get_field(field), "max_length", None)
    return length_check(errors, field, value, limit) if limit else value


TEXT_FIELDS = ("title", "province", "city", "district", "street", "privacy_notice_version")
LONG_TEXT_FIELDS = ("preference_notes", "needs", "notes")
PREFERENCE_FIELDS = ("preferred_categories", "preferred_brands", "preferred_colours")
CHOICE_FIELDS = {
    "kind": CustomerKind,
    "gender": Gender,
    "industry": Industry,
    "consent_source": ConsentSource,
    "financial_status": FinancialStatus,
    "risk_preference": RiskPreference,
}


def customer_standardise(
    data: Mapping[str, Any], *, sources: SourceLookup | None = None
) -> dict[str, Any]:
    """Clean the customer fields present in `data`; absent fields stay absent.
    `sources` reads the source channels (one query when not given).

    Raises ValidationError({field: [errors]}) naming every bad field at once.
    """
    errors: dict[str, list[ValidationError]] = {}
    out: dict[str, Any] = {}

    def attempt(field: str, function, value):
        try:
            out[field] = function(value)
        except ValidationError as exc:
            errors.setdefault(field, []).append(exc)

    if "number" in data:
        attempt("number", number_clean, data["number"])
    for field, choices in CHOICE_FIELDS.items():
        if field in data:
            out[field] = _choice(data[field], choices, field, errors)
    if "source" in data and _text(data["source"]):
        text = _text(data["source"])
        code = (sources or SourceLookup()).resolve(text)
        if code is None:
            errors.setdefault("source", []).append(
                ValidationError(
                    _("“%(value)s” is not one of the choices."),
                    code="invalid_choice",
                    params={"value": text},
                )
            )
        out["source"] = code or ""
    if "name" in data:
        name = name_normalise(_text(data["name"]))
        if not name:
            errors.setdefault("name", []).append(
                ValidationError(_("Enter the customer's name."), code="required")
            )
        out["name"] = _max_length(name, "name", errors)
    if "company" in data:
        out["company"] = _max_length(name_normalise(_text(data["company"])), "company", errors)
    for field in TEXT_FIELDS:
        if field in data:
            out[field] = _max_length(" ".join(_text(data[field]).split()), field, errors)
    for field in LONG_TEXT_FIELDS:
        if field in data:
            out[field] = length_check(errors, field, _text(data[field]), 5000)
    if "import_remarks" in data:
        out["import_remarks"] = length_check(
            errors, "import_remarks", _text(data["import_remarks"]), 20_000
        )
    for field in PREFERENCE_FIELDS:
        if field in data:
            items = split_list(data[field])
            if len(items) > MAX_PREFERENCES or any(len(item) > 50 for item in items):
                errors.setdefault(field, []).append(
                    ValidationError(
                        _("At most %(count)d entries of up to 50 characters each."),
                        code="max_length",
                        params={"count": MAX_PREFERENCES},
                    )
                )
            out[field] = items
    if "postcode" in data:
        postcode = re.sub(r"\s", "", _text(data["postcode"]))
        if postcode and not _POSTCODE.fullmatch(postcode):
            errors.setdefault("postcode", []).append(
                ValidationError(_("A postcode has six digits."), code="invalid_postcode")
            )
        out["postcode"] = postcode
    free_text = _text(data.get("address"))
    if (
        not free_text
        and "street" in data
        and not any(out.get(field) for field in ("province", "city", "district"))
    ):
        free_text = out.get("street", "")  # a whole address pasted into the street box
    if free_text:
        # A free-text address fills the parts it can place unambiguously.
        parts = address_split(free_text)
        if parts.province or "address" in data:
            for field in ("province", "city", "district"):
                if not out.get(field):
                    out[field] = getattr(parts, field)
            out["street"] = parts.street
    if "uscc" in data:
        attempt("uscc", uscc_clean, data["uscc"])
    if "phones" in data:
        attempt("phones", phones_parse, data["phones"])
    if "emails" in data:
        attempt("emails", emails_parse, data["emails"])
    if "tags" in data:
        attempt("tags", tags_parse, data["tags"])
    if "birth_date" in data:
        birth_date = date_parse(data["birth_date"])
        if birth_date is INVALID:
            errors.setdefault("birth_date", []).append(
                ValidationError(
                    _("“%(value)s” is not a date; write it as 1990-03-05."),
                    code="invalid_date",
                    params={"value": _text(data["birth_date"])[:30]},
                )
            )
            birth_date = None
        if birth_date is not None and birth_date > timezone.localdate():
            errors.setdefault("birth_date", []).append(
                ValidationError(_("A birth date cannot be in the future."), code="future_date")
            )
        if birth_date is not None and birth_date.year < 1900:
            errors.setdefault("birth_date", []).append(
                ValidationError(_("A birth date before 1900 is surely a typo."), code="too_old")
            )
        out["birth_date"] = birth_date
    if "birth_year" in data:
        year = data["birth_year"]
        if year in (None, ""):
            out["birth_year"] = None
        elif isinstance(year, int) and 1900 <= year <= timezone.localdate().year:
            out["birth_year"] = year
        else:
            errors.setdefault("birth_year", []).append(
                ValidationError(_("Not a birth year."), code="invalid_year")
            )
    for field in ("is_key_account", "marketing_consent"):
        if field in data:
            value = boolean_parse(data[field])
            if value is INVALID:
                errors.setdefault(field, []).append(
                    ValidationError(
                        _("“%(value)s” is neither yes nor no."),
                        code="invalid_boolean",
                        params={"value": _text(data[field])[:30]},
                    )
                )
                value = False
            out[field] = value
    if out.get("kind") == CustomerKind.PERSON and out.get("uscc"):
        errors.setdefault("uscc", []).append(
            ValidationError(
                _("Only company customers have a unified social credit code."),
                code="uscc_for_person",
            )
        )
    if errors:
        raise ValidationError(errors)
    return out
