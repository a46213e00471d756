"""Reminders (docs/operations.md): a notification to the right person, once.
What is reminded comes from the apps that hold it, each registering its kinds
in its AppConfig.ready() (`register_reminder`): a task due or overdue and a
ticket near or past its SLA (interactions.reminders), a contract to renew
(sales.reminders), a customer's birthday with its coupon (feedback.reminders).

"Once" is the reminder's key, remembered (crm.models.Reminded): a reminder of
the same thing on the same terms is never given twice, whoever runs the job
and how often; a task put off to another day, a contract renewed to a new end
or a ticket's deadline moved is reminded again. A person with SUMMARY_FROM or
more reminders of a kind that sums up at once gets one line for them all
instead of a flood, and those count as reminded. Records of deleted customers
are not reminded. Set-based: one statement per kind, all in one transaction.
Runs every half hour from 08:00 to 20:30 (migration crm 0007).
"""

from __future__ import annotations

import calendar
import datetime
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from crm.models import NotificationKind
from crm.sqlwords import fill, plural, words_params

SUMMARY_FROM = 6  # reminders of a kind for one person in one run: one summary instead


@dataclass(frozen=True)
class Kind:
    """One kind of reminder. `items` is SQL giving the reminders due, one row
    each: recipient_id, key, text, link and w (the recipient's words), the text
    already filled in. Its parameters: the `words` (words_of), %(tz)s, %(at)s
    (the moment of the run), %(day_end)s, %(day)s ('YYYY-MM-DD'), %(year)s,
    %(month_day)s ('MM-DD'), %(leap_day_too)s (28 February of a common year),
    and what `params()` adds (e.g. the link of its records)."""

    name: str
    items: str
    words: Mapping = field(default_factory=dict)  # key → text (crm.sqlwords)
    params: Callable[[], dict] = dict
    summary: str = ""  # the words' key of a per-person summary (…_one, …_other)
    summary_link: str = ""  # the URL name the summary links to


_KINDS: dict[str, Kind] = {}


def register_reminder(kind: Kind) -> None:
    """Called from an app's AppConfig.ready(); a kind's name is registered once."""
    if _KINDS.get(kind.name, kind) != kind:
        raise ValueError(f"reminder kind {kind.name!r} is registered twice")
    _KINDS[kind.name] = kind


def reminder_kinds() -> tuple[Kind, ...]:
    return tuple(_KINDS.values())


# A kind's reminders not given yet, remembered (crm.models.Reminded) and written:
# one by one, or one summary for whoever has %(many)s or more of them at once.
_WRITE = """
WITH items AS ({items}),
fresh AS (
    SELECT DISTINCT ON (i.recipient_id, i.key) i.*
    FROM items i
    WHERE NOT EXISTS (SELECT FROM crm_reminded r
                      WHERE r.recipient_id = i.recipient_id AND r.key = i.key)
),
remembered AS (
    INSERT INTO crm_reminded (recipient_id, key, created_at)
    SELECT recipient_id, key, %(now)s FROM fresh
    ON CONFLICT (recipient_id, key) DO NOTHING
    RETURNING recipient_id, key
),
counted AS (
    SELECT f.*, count(*) OVER (PARTITION BY f.recipient_id) AS mine
    FROM fresh f JOIN remembered USING (recipient_id, key)
),
one_by_one AS (
    INSERT INTO crm_notification (recipient_id, kind, text, link, key, created_at)
    SELECT recipient_id, %(kind)s, left(text, 500), link, key, %(now)s
    FROM counted WHERE mine < %(many)s
    ON CONFLICT (recipient_id, key) WHERE key <> '' DO NOTHING
    RETURNING 1
),
summaries AS (
    INSERT INTO crm_notification (recipient_id, kind, text, link, key, created_at)
    SELECT recipient_id, %(kind)s, {summary_text}, %(summary_link)s,
           %(summary_key)s, %(now)s
    FROM (SELECT recipient_id, count(*) AS mine, (array_agg(w))[1] AS w
          FROM counted WHERE mine >= %(many)s GROUP BY recipient_id) s
    ON CONFLICT (recipient_id, key) WHERE key <> '' DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM one_by_one), (SELECT count(*) FROM summaries)
"""


# What must be written before the reminders that name it (the birthday coupon
# the birthday reminder mentions): the apps above register it in their
# AppConfig.ready(), each called with the day.
_BEFORE: list = []


def reminders_prepare(step) -> None:
    """Run `step(as_of=day)` before each day's reminders are written."""
    if step not in _BEFORE:
        _BEFORE.append(step)


def _moment(as_of: datetime.date) -> datetime.datetime:
    """Now, for today; the end of the day for another day (a run by hand)."""
    if as_of == timezone.localdate():
        return timezone.now()
    return timezone.make_aware(datetime.datetime.combine(as_of, datetime.time.max))


def reminders(as_of: datetime.date, *, at: datetime.datetime | None = None) -> dict[str, int]:
    """The reminders due at `as_of` (now, when today; `at`, a moment of that day),
    each written once; the counts per kind (a second run: zeros)."""
    for step in _BEFORE:
        step(as_of=as_of)  # e.g. the coupon the birthday reminder names
    at = at or _moment(as_of)
    day_end = timezone.make_aware(datetime.datetime.combine(as_of, datetime.time.max))
    kinds = reminder_kinds()
    words = {key: text for kind in kinds for key, text in kind.words.items()}
    params = {
        **words_params(words), "tz": settings.TIME_ZONE, "at": at, "day_end": day_end,
        "day": f"{as_of:%Y-%m-%d}", "year": str(as_of.year), "month_day": f"{as_of:%m-%d}",
        "leap_day_too": f"{as_of:%m-%d}" == "02-28" and not calendar.isleap(as_of.year),
        "now": timezone.now(), "kind": NotificationKind.TASK,
    }  # fmt: skip
    counts = {}
    with transaction.atomic(), connection.cursor() as cursor:
        for kind in kinds:
            summary_text = "NULL"
            if kind.summary:
                summary_text = fill(plural("w", kind.summary, "mine"), count="mine")
            cursor.execute(
                _WRITE.replace("{items}", kind.items).replace("{summary_text}", summary_text),
                {
                    **params,
                    **kind.params(),
                    "many": SUMMARY_FROM if kind.summary else 2**31 - 1,
                    "summary_key": f"{kind.name}-summary:{timezone.localtime(at):%Y-%m-%dT%H:%M}",
                    "summary_link": reverse(kind.summary_link) if kind.summary_link else "",
                },
            )
            one_by_one, summaries = cursor.fetchone()
            counts[kind.name] = one_by_one + summaries
    return counts
