"""The reminders of tasks and tickets (crm.reminders, registered in
InteractionsConfig.ready()): a task due later today and a task overdue (its
assignee, summed up when there are many); a service ticket near its SLA deadline
(its assignee, or the customer's team manager while nobody is assigned) and one
past it (both)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_noop, ngettext

from crm.reminders import Kind, register_reminder
from crm.sqlwords import compose, fill, local_text, record_link, words_of


def _tasks_due(count: int) -> str:
    return ngettext(
        "%(count)s task is due later today.", "%(count)s tasks are due later today.", count
    )


def _tasks_overdue(count: int) -> str:
    return ngettext("%(count)s task is overdue.", "%(count)s tasks are overdue.", count)


TASK_WORDS = {
    "task_due": gettext_noop("Due today at %(time)s: %(title)s"),
    "task_overdue": gettext_noop("Overdue since %(day)s: %(title)s"),
    "task_due_many_one": lambda: _tasks_due(1),
    "task_due_many_other": lambda: _tasks_due(2),
    "task_overdue_many_one": lambda: _tasks_overdue(1),
    "task_overdue_many_other": lambda: _tasks_overdue(2),
}
TICKET_WORDS = {
    "ticket_near": gettext_noop(
        "Ticket %(number)s is due by %(time)s and not resolved yet: %(subject)s"
    ),
    "ticket_past": gettext_noop("Ticket %(number)s is past its SLA (%(time)s): %(subject)s"),
}

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
_TASKS_DUE = compose(
    _TASKS,
    key="'task-due:' || t.id || ':' || %(day)s",
    text=fill("w.w->>'task_due'", time=local_text("t.due_at", "HH24:MI"), title="t.title"),
    words=words_of("u"),
    when="t.due_at >= %(at)s AND t.due_at <= %(day_end)s",
)
_TASKS_OVERDUE = compose(
    _TASKS,
    key="'task-overdue:' || t.id || ':' || " + local_text("t.due_at", "YYYY-MM-DD"),
    text=fill("w.w->>'task_overdue'", day=local_text("t.due_at", "YYYY-MM-DD"), title="t.title"),
    words=words_of("u"),
    when="t.due_at < %(at)s",
)

# Near: the assignee, else the customer's team manager; past: both.
_TICKETS = compose(
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
        time=local_text("d.sla_due_at", "MM-DD HH24:MI"),
        number="d.number",
        subject="d.subject",
    ),
    near=fill(
        "w.w->>'ticket_near'",
        time=local_text("d.sla_due_at", "MM-DD HH24:MI"),
        number="d.number",
        subject="d.subject",
    ),
    words=words_of("u"),
)


def _task_link() -> dict:
    return {"task_link": reverse("interactions:task_list")}


def _ticket_link() -> dict:
    return {"ticket_link": record_link("interactions:ticket_detail")}


def register() -> None:
    for name, items, summary in (
        ("tasks_due", _TASKS_DUE, "task_due_many"),
        ("tasks_overdue", _TASKS_OVERDUE, "task_overdue_many"),
    ):
        register_reminder(
            Kind(
                name,
                items,
                words=TASK_WORDS,
                params=_task_link,
                summary=summary,
                summary_link="interactions:task_list",
            )
        )
    register_reminder(Kind("tickets", _TICKETS, words=TICKET_WORDS, params=_ticket_link))
