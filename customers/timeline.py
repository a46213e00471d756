"""The customer's timeline (DESIGN §6): everything that happened to a customer,
newest first, from whichever apps record it. Each app registers its source in
its AppConfig.ready() (`register_timeline_source`): the model with a `customer`
key, the moment field, the permission to see it, the label of its filter button
and the template of one entry. This app knows none of them but its own ledger of
owners.

A page is one UNION ALL of (kind, id, moment) over each source, newest first, cut
at the page size; then one query per kind for the page's rows. The number of
queries is fixed however long the history, and each branch is served by its
(customer, moment) index."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import CharField, F, Model, Q, QuerySet, Value
from django.utils.dateparse import parse_datetime

from crm.models import User
from customers.models import Customer

TIMELINE_PAGE = 20


@dataclass(frozen=True)
class TimelineSource:
    kind: str
    model: type[Model]
    moment: str  # the field the entry is dated by
    label: str  # the filter button
    template: str  # one entry, with `entry` (kind, at, item) in its context
    position: int  # the buttons' order
    permission: str = ""  # "" for anyone who sees the customer
    related: tuple[str, ...] = ()  # what an entry shows besides the row

    def rows(self, customer: Customer) -> QuerySet:
        return self.model._default_manager.filter(customer=customer)

    def load(self, ids: list[int]) -> QuerySet:
        return self.model._default_manager.filter(pk__in=ids).select_related(*self.related)


_SOURCES: dict[str, TimelineSource] = {}


def register_timeline_source(source: TimelineSource) -> None:
    """Called from an app's AppConfig.ready(); a kind is registered once."""
    if _SOURCES.get(source.kind, source) != source:
        raise ValueError(f"timeline kind {source.kind!r} is registered twice")
    _SOURCES[source.kind] = source


def timeline_sources() -> list[TimelineSource]:
    return sorted(_SOURCES.values(), key=lambda source: source.position)


@dataclass
class TimelineEntry:
    kind: str
    at: datetime.datetime
    item: object

    @property
    def template(self) -> str:
        return _SOURCES[self.kind].template


@dataclass
class TimelinePage:
    entries: list[TimelineEntry]
    kinds: tuple[str, ...]  # the kinds this user may see
    kind: str  # the filter ("" for all)
    next_cursor: str = ""

    @property
    def filters(self) -> list[tuple[str, str]]:
        """(kind, label) of the filter buttons, in their order."""
        return [(kind, _SOURCES[kind].label) for kind in self.kinds]


def _branch(kind: str, qs: QuerySet, moment: str, cursor) -> QuerySet:
    # Not "kind" and "at": the ownership ledger has fields of those names.
    qs = qs.annotate(entry_kind=Value(kind, output_field=CharField()), entry_at=F(moment))
    if cursor is not None:
        at, cursor_kind, cursor_id = cursor
        if kind < cursor_kind:
            qs = qs.filter(**{f"{moment}__lte": at})
        elif kind == cursor_kind:
            qs = qs.filter(Q(**{f"{moment}__lt": at}) | Q(**{moment: at, "pk__lt": cursor_id}))
        else:
            qs = qs.filter(**{f"{moment}__lt": at})
    return qs.values_list("entry_kind", "pk", "entry_at")


def _cursor_parse(text: str):
    try:
        at, kind, pk = text.rsplit("|", 2)
        moment = parse_datetime(at)
        if moment is None or kind not in _SOURCES:
            return None
        return moment, kind, int(pk)
    except (ValueError, TypeError):
        return None


def timeline_kinds(user: User) -> tuple[str, ...]:
    return tuple(
        source.kind
        for source in timeline_sources()
        if not source.permission or user.has_perm(source.permission)
    )


def customer_timeline(
    user: User, customer: Customer, *, kind: str = "", cursor: str = "", size: int = TIMELINE_PAGE
) -> TimelinePage:
    """A page of the customer's history, newest first, of the kinds the user may
    see (the customer itself is already visible to them)."""
    allowed = timeline_kinds(user)
    kind = kind if kind in allowed else ""
    wanted = (kind,) if kind else allowed
    after = _cursor_parse(cursor) if cursor else None
    if cursor and after is None:  # a page after something unknown: nothing, not page 1
        return TimelinePage([], allowed, kind)
    branches = [_branch(k, _SOURCES[k].rows(customer), _SOURCES[k].moment, after) for k in wanted]
    if not branches:
        return TimelinePage([], allowed, kind)
    union = branches[0].union(*branches[1:], all=True) if len(branches) > 1 else branches[0]
    rows = list(union.order_by("-entry_at", "-entry_kind", "-pk")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    ids: dict[str, list[int]] = {}
    for row_kind, pk, _at in rows:
        ids.setdefault(row_kind, []).append(pk)
    loaded = {
        (row_kind, item.pk): item
        for row_kind, kind_ids in ids.items()
        for item in _SOURCES[row_kind].load(kind_ids)
    }
    entries = [
        TimelineEntry(row_kind, at, loaded[row_kind, pk])
        for row_kind, pk, at in rows
        if (row_kind, pk) in loaded
    ]
    next_cursor = ""
    if more and rows:
        last_kind, last_pk, last_at = rows[-1]
        next_cursor = f"{last_at.isoformat()}|{last_kind}|{last_pk}"
    return TimelinePage(entries, allowed, kind, next_cursor)
