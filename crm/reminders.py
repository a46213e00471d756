"""Reminders (issue 9, item 4; docs/operations.md): a notification to the right
person, once, for

- a task due later today, and a task overdue (its assignee);
- a contract in force whose renewal window has opened (its owner);
- a service ticket near its SLA deadline (its assignee, or the customer's team
  manager while nobody is assigned) and one past it (both);
- a customer's birthday (the owner), with the birthday coupon of the loyalty
  rules when they give one (issued first, feedback.loyalty).

"Once" is the reminder's key, remembered (crm.models.Reminded): a reminder of
the same thing on the same terms is never given twice, whoever runs the job
and how often; a task put off to another day, a contract renewed to a new end
or a ticket's deadline moved is reminded again. A person with SUMMARY_FROM or
more tasks of a kind at once gets one line for them all instead of a flood, and
those tasks count as reminded. Records of deleted customers are not reminded.
Set-based: one statement per kind, all in one transaction.
Runs every half hour from 08:00 to 20:30 (migration crm 0007).
"""

from __future__ import annotations

import calendar
import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_noop, ngettext

from crm.models import NotificationKind
from crm.sqlwords import fill, plural, record_link, words_of, words_params

SUMMARY_FROM = 6  # tasks of a kind for one person in one run: one summary instead

WORDS = {
    "task_due": gettext_noop("Due today at %(time)s: %(title)s"),
    "task_overdue": gettext_noop("Overdue since %(day)s: %(title)s"),
    "task_due_many_one": lambda: _tasks_due(1),
    "task_due_many_other": lambda: _tasks_due(2),
    "task_overdue_many_one": lambda: _tasks_overdue(1),
    "task_overdue_many_other": lambda: _tasks_overdue(2),
    "contract": gettext_noop(
        "Contract %(number)s with %(customer)s ends on %(day)s: time to renew it."
    ),
    "ticket_near": gettext_noop(
        "Ticket %(number)s is due by %(time)s and not resolved yet: %(subject)s"
    ),
    "ticket_past": gettext_noop("Ticket %(number)s is past its SLA (%(time)s): %(subject)s"),
    "birthday": gettext_noop("Today is the birthday of %(customer)s."),
    "birthday_coupon": gettext_noop(
        "Today is the birthday of %(customer)s. A birthday coupon %(code)s of ¥%(value)s "
        "has been issued."
    ),
}


def _tasks_due(count: int) -> str:
    return ngettext(
        "%(count)s task is due later today.", "%(count)s tasks are due later today.", count
    )


def _tasks_overdue(count: int) -> str:
    return ngettext("%(count)s task is overdue.", "%(count)s tasks are overdue.", count)


@dataclass(frozen=True)
class Kind:
    name: str
    # The reminders due, one row each: recipient_id, key, text, link and w (the
    # recipient's words); the text already filled in.
    items: str
    summary: str = ""  # the words' key of a per-person summary (tasks only)


def _local(expr: str, pattern: str) -> str:
    return f"to_char(({expr}) AT TIME ZONE %(tz)s, '{pattern}')"


def _filled(sql: str, **pieces: str) -> str:
    """`sql` with each {name} replaced by its piece of SQL."""
    for name, piece in pieces.items():
        sql = sql.replace("{" + name + "}", piece)
    return sql


_WORDS_OF_U = words_of("u")

_TASKS = """
SELECT t.assignee_id AS recipient_id, {key} AS key,
       {text} || coalesce(' · ' || c.name, '') AS text,
       %(task_link)s || '#task-' || t.id AS link, w.w
FROM interactions_task t
JOIN crm_user u ON u.id = t.assignee_id AND u.is_active
CROSS JOIN LATERAL (SELECT {words} AS w) w
LEFT JOIN customers_customer c ON c.id = t.customer_id
WHERE t.done_at IS NULL AND c.deleted_at IS NULL AND {when}
"""
_TASKS_DUE = _filled(
    _TASKS,
    key="'task-due:' || t.id || ':' || %(day)s",
    text=fill("w.w->>'task_due'", time=_local("t.due_at", "HH24:MI"), title="t.title"),
    words=_WORDS_OF_U,
    when="t.due_at >= %(at)s AND t.due_at <= %(day_end)s",
)
_TASKS_OVERDUE = _filled(
    _TASKS,
    key="'task-overdue:' || t.id || ':' || " + _local("t.due_at", "YYYY-MM-DD"),
    text=fill("w.w->>'task_overdue'", day=_local("t.due_at", "YYYY-MM-DD"), title="t.title"),
    words=_WORDS_OF_U,
    when="t.due_at < %(at)s",
)

_CONTRACTS = _filled(
    """
SELECT k.owner_id AS recipient_id, 'contract-renewal:' || k.id || ':' || k.end_date AS key,
       {text} AS text, replace(%(contract_link)s, '{id}', k.id::text) AS link, w.w
FROM sales_contract k
JOIN crm_user u ON u.id = k.owner_id AND u.is_active
CROSS JOIN LATERAL (SELECT {words} AS w) w
JOIN customers_customer c ON c.id = k.customer_id AND c.deleted_at IS NULL
WHERE k.status = 'active' AND k.end_date IS NOT NULL
  AND %(day)s::date BETWEEN k.end_date - k.renewal_notice_days AND k.end_date
""",
    text=fill(
        "w.w->>'contract'",
        day="to_char(k.end_date, 'YYYY-MM-DD')",
        number="k.number",
        customer="c.name",
    ),
    words=_WORDS_OF_U,
)

# Near: the assignee, else the customer's team manager; past: both.
_TICKETS = _filled(
    """
WITH due AS (
    SELECT t.*, tm.manager_id, t.sla_due_at <= %(at)s AS past
    FROM interactions_serviceticket t
    LEFT JOIN interactions_slapolicy p ON p.priority = t.priority
    JOIN customers_customer c ON c.id = t.customer_id AND c.deleted_at IS NULL
    LEFT JOIN crm_team tm ON tm.id = c.team_id
    WHERE t.status IN ('open', 'in_progress') AND t.waiting_since IS NULL
      AND t.sla_due_at - make_interval(hours => coalesce(p.warn_hours, 2)) < %(at)s
),
told AS (
    SELECT d.*, coalesce(d.assignee_id, d.manager_id) AS recipient_id FROM due d
    UNION
    SELECT d.*, d.manager_id FROM due d WHERE d.past
)
SELECT d.recipient_id,
       CASE WHEN d.past THEN 'ticket-past:' ELSE 'ticket-near:' END || d.id || ':'
           || extract(epoch FROM d.sla_due_at)::bigint AS key,
       CASE WHEN d.past THEN {past} ELSE {near} END AS text,
       replace(%(ticket_link)s, '{id}', d.id::text) AS link, w.w
FROM told d
JOIN crm_user u ON u.id = d.recipient_id AND u.is_active
CROSS JOIN LATERAL (SELECT {words} AS w) w
""",
    past=fill(
        "w.w->>'ticket_past'",
        time=_local("d.sla_due_at", "MM-DD HH24:MI"),
        number="d.number",
        subject="d.subject",
    ),
    near=fill(
        "w.w->>'ticket_near'",
        time=_local("d.sla_due_at", "MM-DD HH24:MI"),
        number="d.number",
        subject="d.subject",
    ),
    words=_WORDS_OF_U,
)

# On 28 February of a common year, those born on the 29th too.
_BIRTHDAYS = _filled(
    """
SELECT c.owner_id AS recipient_id, 'birthday:' || c.id || ':' || %(year)s AS key,
       CASE WHEN cp.id IS NULL THEN {text} ELSE {coupon} END AS text,
       replace(%(customer_link)s, '{id}', c.id::text) AS link, w.w
FROM customers_customer c
JOIN crm_user u ON u.id = c.owner_id AND u.is_active
CROSS JOIN LATERAL (SELECT {words} AS w) w
LEFT JOIN feedback_coupon cp
    ON cp.customer_id = c.id AND cp.reason = 'birthday' AND cp.valid_from = %(day)s::date
WHERE c.kind = 'person' AND c.deleted_at IS NULL AND c.birth_date IS NOT NULL
  AND (to_char(c.birth_date, 'MM-DD') = %(month_day)s
       OR (%(leap_day_too)s AND to_char(c.birth_date, 'MM-DD') = '02-29'))
""",
    text=fill("w.w->>'birthday'", customer="c.name"),
    coupon=fill("w.w->>'birthday_coupon'", value="cp.value", code="cp.code", customer="c.name"),
    words=_WORDS_OF_U,
)

KINDS = (
    Kind("tasks_due", _TASKS_DUE, summary="task_due_many"),
    Kind("tasks_overdue", _TASKS_OVERDUE, summary="task_overdue_many"),
    Kind("contracts", _CONTRACTS),
    Kind("tickets", _TICKETS),
    Kind("birthdays", _BIRTHDAYS),
)

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
    params = {
        **words_params(WORDS), "tz": settings.TIME_ZONE, "at": at, "day_end": day_end,
        "day": f"{as_of:%Y-%m-%d}", "year": str(as_of.year), "month_day": f"{as_of:%m-%d}",
        "leap_day_too": f"{as_of:%m-%d}" == "02-28" and not calendar.isleap(as_of.year),
        "now": timezone.now(), "kind": NotificationKind.TASK,
        "task_link": reverse("interactions:task_list"),
        "contract_link": record_link("sales:contract_detail"),
        "ticket_link": record_link("interactions:ticket_detail"),
        "customer_link": record_link("customers:detail"),
    }  # fmt: skip
    counts = {}
    with transaction.atomic(), connection.cursor() as cursor:
        for kind in KINDS:
            summary_text = "NULL"
            if kind.summary:
                summary_text = fill(plural("w", kind.summary, "mine"), count="mine")
            cursor.execute(
                _filled(_WRITE, items=kind.items, summary_text=summary_text),
                {
                    **params,
                    "many": SUMMARY_FROM if kind.summary else 2**31 - 1,
                    "summary_key": f"{kind.name}-summary:{timezone.localtime(at):%Y-%m-%dT%H:%M}",
                    "summary_link": params["task_link"],
                },
            )
            one_by_one, summaries = cursor.fetchone()
            counts[kind.name] = one_by_one + summaries
    return counts
