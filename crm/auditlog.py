"""The audit log as a reader sees it: field labels instead of field names, the
names of linked records instead of their ids, choices by their labels, times in
local time, and the details (`extra`) each event stored, labelled.

An event stores what was true then, in a form that never changes (ids, raw
values); this reads it in the reader's language, with a fixed number of queries
for a page: one per kind of linked record, through its scoping selector, so a
name the reader may not see stays a number.

Keys that are not model fields (a customer's phones, an import's counts, a
conflict check's query…) are labelled by `register_label`; the apps above the
platform register theirs in `AppConfig.ready()` with the model their ids name.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from crm.access import registered_models, scoped
from crm.audit import MASK
from crm.models import BilingualNameMixin, User

NOTHING = "∅"
SHOWN_IDS = 5  # a list of linked records is named up to this many, then counted


@dataclass(frozen=True)
class Label:
    text: Promise | str
    model: type[models.Model] | None = None  # the ids under this key name these
    hidden: bool = False  # bookkeeping the reader gains nothing from


_LABELS: dict[str, Label] = {}
_VALUES: dict[str, dict[str, Promise | str]] = {}


def register_label(
    key: str,
    text: Promise | str,
    *,
    model: type[models.Model] | None = None,
    hidden: bool = False,
) -> None:
    _LABELS[key] = Label(text, model, hidden)


def register_values(key: str, choices) -> None:
    """Name the codes stored under `key` (an ownership change's kind, a recycling
    reason…); several apps may add theirs to the same key, other values show as
    stored."""
    _VALUES.setdefault(key, {}).update({str(value): label for value, label in choices})


@dataclass(frozen=True)
class Line:
    label: str
    old: str
    new: str


@dataclass(frozen=True)
class Detail:
    label: str
    value: str


@dataclass(frozen=True)
class EventView:
    event: Any
    changes: list[Line]
    details: list[Detail]


def _field(model, name: str) -> models.Field | None:
    if model is None:
        return None
    for candidate in (name, name.removesuffix("_id")):
        try:
            field = model._meta.get_field(candidate)
        except FieldDoesNotExist:
            continue
        return field if getattr(field, "concrete", False) else None
    return None


def _is_id(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, str) and value.isdigit())


def _scalar(value: Any) -> bool:
    return isinstance(value, int | str) and not isinstance(value, bool)


@dataclass(frozen=True)
class _Link:
    """Where a stored value points: `model` rows found by `key` (the primary key, or
    the field a foreign key stores, such as a source channel's code)."""

    model: type[models.Model]
    key: str = "pk"

    def values(self, value: Any) -> list[str]:
        items = value if isinstance(value, list) else [value]
        if not items or not all(_scalar(item) for item in items):
            return []
        if self.key == "pk" and not all(_is_id(item) for item in items):
            return []  # a label stored in place of the id (an owner's name…)
        return [str(item) for item in items if item != ""]


class _Reader:
    """Formats one page of events, naming linked records in one query per model."""

    def __init__(self, user, events: list):
        self.user = user
        self.events = events
        self.wanted: dict[_Link, set[str]] = defaultdict(set)
        self.names: dict[tuple[_Link, str], str] = {}

    @staticmethod
    def _link(model, key: str) -> _Link | None:
        """Where the values stored under `key` for an event on `model` point, if anywhere."""
        field = _field(model, key)
        if field is not None and field.many_to_one:
            target = field.target_field
            return _Link(field.related_model, "pk" if target.primary_key else target.attname)
        label = _LABELS.get(key)
        return _Link(label.model) if label and label.model is not None else None

    def collect(self) -> None:
        for event in self.events:
            model = event.target_type.model_class() if event.target_type_id else None
            for key, values in (event.changes or {}).items():
                link = self._link(model, key)
                if link is not None and isinstance(values, list):
                    for value in values:
                        self.wanted[link].update(link.values(value))
            for key, value in (event.extra or {}).items():
                link = self._link(None, key)
                if link is not None:
                    self.wanted[link].update(link.values(value))

    def fetch(self) -> None:
        """Rows the log may name: through their scoping selector, or an admin-edited
        list (source channels, release reasons) that holds nobody's data."""
        scoped_models = set(registered_models())
        for link, values in self.wanted.items():
            if link.model in scoped_models:
                rows = scoped(link.model, self.user)
            elif issubclass(link.model, BilingualNameMixin):
                rows = link.model._default_manager.all()
            else:
                continue
            for row in rows.filter(**{f"{link.key}__in": values}):
                label = row.audit_label() if hasattr(row, "audit_label") else str(row)
                self.names[(link, str(getattr(row, link.key)))] = label

    def _name(self, link: _Link, value: str) -> str:
        return self.names.get((link, value)) or (
            f"{link.model._meta.verbose_name} #{value}" if link.key == "pk" else value
        )

    def value(self, value: Any, *, field=None, link: _Link | None = None, key: str = "") -> str:
        if value is None or value == "" or value == []:
            return NOTHING
        if value == MASK:
            return _("(hidden)")
        if isinstance(value, str) and value in _VALUES.get(key, {}):
            return str(_VALUES[key][value])
        if link is not None and link.values(value):
            names = [self._name(link, item) for item in link.values(value)]
            more = len(names) - SHOWN_IDS
            shown = "、".join(names[:SHOWN_IDS])
            return shown + (_(" and %(count)s more") % {"count": more} if more > 0 else "")
        if isinstance(value, bool):
            return _("Yes") if value else _("No")
        if field is not None and field.choices:
            return str(dict(field.flatchoices).get(value, value))
        if isinstance(field, models.DateTimeField) and isinstance(value, str):
            moment = parse_datetime(value)
            if moment is not None:
                if timezone.is_naive(moment):
                    moment = timezone.make_aware(moment, datetime.UTC)
                return date_format(timezone.localtime(moment), "Y-m-d H:i")
        if isinstance(value, list):
            return "、".join(self.value(item, key=key) for item in value)
        if isinstance(value, dict):
            return "; ".join(f"{self.label(None, k)}: {self.value(v)}" for k, v in value.items())
        return str(value)

    def label(self, model, key: str) -> str:
        field = _field(model, key)
        if field is not None:
            return str(field.verbose_name)
        label = _LABELS.get(key)
        return str(label.text) if label else key.replace("_", " ")

    def view(self, event) -> EventView:
        model = event.target_type.model_class() if event.target_type_id else None
        lines = []
        for key, values in (event.changes or {}).items():
            old, new = [*values, None, None][:2] if isinstance(values, list) else [None, values]
            field, link = _field(model, key), self._link(model, key)
            lines.append(
                Line(
                    self.label(model, key),
                    self.value(old, field=field, link=link),
                    self.value(new, field=field, link=link),
                )
            )
        details = [
            Detail(self.label(None, key), self.value(value, link=self._link(None, key), key=key))
            for key, value in (event.extra or {}).items()
            if not (key in _LABELS and _LABELS[key].hidden)
        ]
        return EventView(event, lines, details)


def audit_page(user, events: Iterable) -> list[EventView]:
    """The events of one page of the audit log, ready to read."""
    reader = _Reader(user, list(events))
    reader.collect()
    reader.fetch()
    return [reader.view(event) for event in reader.events]


def _register_platform_labels() -> None:
    for key, text in {
        "version": pgettext_lazy("audit detail", "Version"),
        "query": pgettext_lazy("audit detail", "Searched for"),
        "file": pgettext_lazy("audit detail", "File"),
        "username": pgettext_lazy("audit detail", "User name typed"),
        "locked": pgettext_lazy("audit detail", "Locked"),
        "login_lock": pgettext_lazy("audit detail", "Log-in lock"),
        "month": pgettext_lazy("audit detail", "Month"),
        "for": pgettext_lazy("audit detail", "For"),
        "reason": pgettext_lazy("audit detail", "Reason"),
        "note": pgettext_lazy("audit detail", "Note"),
        "fields": pgettext_lazy("audit detail", "Fields"),
        "rows": pgettext_lazy("audit detail", "Rows"),
        "format": pgettext_lazy("audit detail", "Format"),
        "what": pgettext_lazy("audit detail", "What"),
        "filters": pgettext_lazy("audit detail", "Filters"),
        "full_values": pgettext_lazy("audit detail", "Unmasked values"),
        "email": pgettext_lazy("audit detail", "E-mail"),
        "phones": pgettext_lazy("audit detail", "Phones"),
        "emails": pgettext_lazy("audit detail", "E-mails"),
        "tags": pgettext_lazy("audit detail", "Tags"),
        "lines": pgettext_lazy("audit detail", "Order lines"),
        "added": pgettext_lazy("audit detail", "Added"),
        "removed": pgettext_lazy("audit detail", "Removed"),
        "as_of": pgettext_lazy("audit detail", "As of"),
        "rule": pgettext_lazy("audit detail", "Rule"),
    }.items():
        register_label(key, text)
    register_label("collaborator", gettext_lazy("Collaborator"), model=User)
    register_label("kind", "", hidden=True)  # what the query or the file held: said by the rest


_register_platform_labels()
