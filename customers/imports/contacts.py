"""Phones and e-mails as hand-kept registers write them: several in a cell, notes
beside a number (（微信同号）, 办, 宅, 转 801), masked and mistyped numbers, mailto:
links. One bad number among several drops that one only, with a warning."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from crm.normalise import email_normalise, phone_normalise
from customers.imports.base import Warning, is_placeholder
from customers.imports.base import warning as _warn
from customers.models import PhoneLabel
from customers.standardise import MAX_EMAILS, MAX_PHONES

_PHONE_SPLIT = re.compile(r"[/,;、\n\r|]+")
_PLAIN_PHONE = re.compile(r"\s*\+?[\d \-]{5,20}\s*")
_PHONE_RUN = re.compile(r"\+?\d[\d \-‐‑–—.()]*\d")
_MASKED = re.compile(r"\d\s*[*＊×xX]{2,}\s*\d|\d[*＊]|[*＊]\d")
_WECHAT = re.compile(r"微信同号|同微信|微信同|同微|微信号同|wechat", re.IGNORECASE)
_WORK = re.compile(r"^(?:办|办公|办公室|公司|单位|工作|work|office)$", re.IGNORECASE)
_HOME = re.compile(r"^(?:宅|家|住宅|家庭|家里|home)$", re.IGNORECASE)
_LEADING_LABEL = re.compile(r"^(?:手机|电话|座机|固话|tel|mobile|phone|m|t)\s*[:：.]?\s*", re.I)
_NOTE_TRIM = re.compile(r"^[\s:：()\[\]【】,;.·\-]+|[\s:：()\[\]【】,;.·\-]+$")
_PLAIN_EMAIL = re.compile(r"\s*[^\s,;、/|<>()*:@]+@[^\s,;、/|<>()*:@]+\s*")
_EMAIL_SPLIT = re.compile(r"[,;、\s/|]+")
_EMAIL_IN = re.compile(r"[^\s<>()\"'@,;]+@[^\s<>()\"'@,;]+")
NOTE_LENGTH = 40  # CustomerPhone.note


@dataclass(slots=True)
class Phone:
    number: str  # E.164
    label: str = PhoneLabel.MOBILE
    note: str = ""
    wechat: bool = False


def _phone_piece(piece: str, key: str, warnings: list[Warning]) -> list[Phone]:
    text = _LEADING_LABEL.sub("", piece.strip())
    if not text or is_placeholder(text):
        return []
    if _MASKED.search(text):
        warnings.append(
            _warn(key, _("“%(value)s” is a masked number, not one to call") % {"value": text}, text)
        )
        return []
    runs = [m for m in _PHONE_RUN.finditer(text) if sum(c.isdigit() for c in m.group()) >= 5]
    if not runs:
        warnings.append(_warn(key, _("“%(value)s” is not a phone number") % {"value": text}, text))
        return []
    run = runs[0]
    candidates = [run.group()]
    try:
        numbers = [phone_normalise(candidates[0])]
    except ValidationError:
        # Two numbers with only a space between them: "13812345678 13987654321".
        parts = [p for p in run.group().split() if sum(c.isdigit() for c in p) >= 7]
        numbers = []
        if len(parts) > 1:
            try:
                numbers = [phone_normalise(p) for p in parts]
            except ValidationError:
                numbers = []
        if not numbers:
            warnings.append(
                _warn(key, _("“%(value)s” is not a phone number") % {"value": text}, text)
            )
            return []
    rest = (text[: run.start()] + " " + text[run.end() :]).strip()
    # A second number in the same piece ("010-8888 8888 转 801" has none; the
    # extension is a note) is read on its own.
    extra: list[Phone] = []
    for other in runs[1:]:
        if sum(c.isdigit() for c in other.group()) >= 7:
            extra += _phone_piece(other.group(), key, warnings)
            rest = rest.replace(other.group(), " ")
    note = " ".join(_NOTE_TRIM.sub("", rest).split())
    wechat = bool(_WECHAT.search(note))
    label = PhoneLabel.MOBILE
    if _WORK.match(note):
        label = PhoneLabel.WORK
    elif _HOME.match(note):
        label = PhoneLabel.HOME
    if len(note) > NOTE_LENGTH:
        warnings.append(_warn(key, _("the note on a phone was too long; shortened"), note))
        note = note[:NOTE_LENGTH]
    return [Phone(n, label, note, wechat) for n in numbers] + extra


def phones_forgive(text: str, warnings: list[Warning], key: str = "phones") -> list[Phone]:
    """Every phone of a cell (or of several columns joined by new lines)."""
    if _PLAIN_PHONE.fullmatch(text):  # one number and nothing else: most cells
        try:
            return [Phone(phone_normalise(text))]
        except ValidationError:
            pass  # said below, with the rest of what a cell may hold
    phones: list[Phone] = []
    for piece in _PHONE_SPLIT.split(unicodedata.normalize("NFKC", text)):
        for phone in _phone_piece(piece, key, warnings):
            same = next((p for p in phones if p.number == phone.number), None)
            if same is None:
                phones.append(phone)
            else:  # the same number twice: keep what either says of it
                same.note = same.note or phone.note
                same.wechat = same.wechat or phone.wechat
    if len(phones) > MAX_PHONES:
        dropped = phones[MAX_PHONES:]
        warnings.append(
            _warn(
                key,
                _("more than %(count)d phones; the first %(count)d are kept")
                % {"count": MAX_PHONES},
                "; ".join(p.number for p in dropped),
            )
        )
        phones = phones[:MAX_PHONES]
    return phones


def emails_forgive(text: str, warnings: list[Warning]) -> list[str]:
    if _PLAIN_EMAIL.fullmatch(text):  # one address and nothing else: most cells
        try:
            return [email_normalise(text)]
        except ValidationError:
            pass
    emails: list[str] = []
    for piece in _EMAIL_SPLIT.split(unicodedata.normalize("NFKC", text)):
        piece = piece.strip().strip("<>()[]")
        if piece.lower().startswith("mailto:"):
            piece = piece[7:].split("?", 1)[0]
        if not piece or is_placeholder(piece):
            continue
        if "*" in piece:
            warnings.append(
                _warn(
                    "emails",
                    _("“%(value)s” is a masked address, not one to write to") % {"value": piece},
                    piece,
                )
            )
            continue
        found = _EMAIL_IN.search(piece)
        try:
            email = email_normalise(found.group() if found else piece)
        except ValidationError:
            warnings.append(
                _warn("emails", _("“%(value)s” is not an e-mail address") % {"value": piece}, piece)
            )
            continue
        if email not in emails:
            emails.append(email)
    if len(emails) > MAX_EMAILS:
        warnings.append(
            _warn(
                "emails",
                _("more than %(count)d e-mail addresses; the first %(count)d are kept")
                % {"count": MAX_EMAILS},
                "; ".join(emails[MAX_EMAILS:]),
            )
        )
        emails = emails[:MAX_EMAILS]
    return emails
