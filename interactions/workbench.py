"""The interactions layer's blocks on the workbench (crm.workbench)."""

from __future__ import annotations

import datetime

from django.db.models import Count, Q
from django.urls import reverse
from django.utils.translation import pgettext_lazy

from crm import roles
from crm.workbench import Block, Day, listed, register_block
from interactions.models import ACTIVE_TICKET_STATUSES, Task, TaskSource
from interactions.selectors import managed_team_ids, oversees_everyone, visible_tickets

SELLING = frozenset({roles.SALES_REP, roles.SALES_MANAGER})
SLA_SOON = datetime.timedelta(hours=4)


def my_tasks(day: Day) -> dict:
    """Overdue and today's tasks of the user, oldest first; ticked off in place."""
    due = (
        Task.objects.filter(assignee=day.user, done_at__isnull=True, due_at__lt=day.tomorrow)
        .select_related("customer", "assignee")
        .order_by("due_at", "id")
    )
    content = listed(due, reverse("interactions:task_list"), limit=8)
    shown = content["rows"]
    content["overdue"] = (
        sum(1 for task in shown if task.due_at < day.now)
        if content["count"] == len(shown)
        else due.filter(due_at__lt=day.now).count()
    )
    return content


def follow_ups(day: Day) -> dict:
    """The follow-ups the user set for the coming week (those due today or overdue
    are among the tasks), soonest first."""
    week = day.tomorrow + datetime.timedelta(days=7)
    upcoming = (
        Task.objects.filter(
            assignee=day.user,
            source=TaskSource.FOLLOW_UP,
            done_at__isnull=True,
            due_at__gte=day.tomorrow,
            due_at__lt=week,
        )
        .select_related("customer")
        .order_by("due_at", "id")
    )
    return listed(upcoming, reverse("interactions:task_list"))


def team_overdue(day: Day) -> dict | None:
    """Per member of the teams the manager runs, how many open tasks are overdue."""
    if oversees_everyone(day.user):
        people = Q()
    else:
        teams = managed_team_ids(day.user)
        if not teams:
            return None
        people = Q(assignee__team_id__in=teams)
    rows = list(
        Task.objects.filter(people, done_at__isnull=True, due_at__lt=day.now)
        .exclude(assignee=day.user)
        .values("assignee", "assignee__last_name", "assignee__first_name", "assignee__username")
        .annotate(n=Count("id"))
        .order_by("-n", "assignee")[:8]
    )
    for row in rows:
        row["name"] = (
            f"{row['assignee__last_name']}{row['assignee__first_name']}"
            or row["assignee__username"]
        )
    return {
        "rows": rows,
        "count": sum(row["n"] for row in rows),
        "more_url": reverse("interactions:task_list") + "?person=team",
    }


def tickets_near_sla(day: Day) -> dict:
    """Active tickets past or within four hours of their resolve-by time."""
    tickets = (
        visible_tickets(day.user)
        .filter(status__in=ACTIVE_TICKET_STATUSES, sla_due_at__lt=day.now + SLA_SOON)
        .select_related("customer", "assignee")
        .order_by("sla_due_at", "id")
    )
    return listed(tickets, reverse("interactions:ticket_list"), now=day.now)


def tickets_unassigned(day: Day) -> dict:
    tickets = (
        visible_tickets(day.user)
        .filter(status__in=ACTIVE_TICKET_STATUSES, assignee__isnull=True)
        .select_related("customer")
        .order_by("sla_due_at", "id")
    )
    return listed(tickets, reverse("interactions:ticket_list") + "?assignee=none")


def register() -> None:
    register_block(
        Block(
            key="tasks",
            title=pgettext_lazy("workbench", "Overdue and today's tasks"),
            icon="check2-square",
            template="workbench/_tasks.html",
            load=my_tasks,
            roles=frozenset(
                {roles.SALES_REP, roles.SALES_MANAGER, roles.DATA_STEWARD, roles.SERVICE_AGENT}
            ),
            permissions=("interactions.view_task",),
            order=10,
            wide=True,
        )
    )
    register_block(
        Block(
            key="follow_ups",
            title=pgettext_lazy("workbench", "Follow-ups this week"),
            icon="telephone-outbound",
            template="workbench/_follow_ups.html",
            load=follow_ups,
            roles=SELLING,
            permissions=("interactions.view_task",),
            order=12,
        )
    )
    register_block(
        Block(
            key="team_overdue",
            title=pgettext_lazy("workbench", "The team's overdue work"),
            icon="people",
            template="workbench/_team_overdue.html",
            load=team_overdue,
            roles=frozenset({roles.SALES_MANAGER}),
            permissions=("interactions.view_task",),
            order=20,
        )
    )
    register_block(
        Block(
            key="tickets_sla",
            title=pgettext_lazy("workbench", "Tickets near or past their SLA"),
            icon="alarm",
            template="workbench/_tickets.html",
            load=tickets_near_sla,
            roles=frozenset({roles.SERVICE_AGENT, roles.SALES_MANAGER}),
            permissions=("interactions.view_serviceticket",),
            order=30,
        )
    )
    register_block(
        Block(
            key="tickets_unassigned",
            title=pgettext_lazy("workbench", "Unassigned tickets"),
            icon="inbox",
            template="workbench/_tickets.html",
            load=tickets_unassigned,
            roles=frozenset({roles.SERVICE_AGENT}),
            permissions=("interactions.view_serviceticket",),
            order=31,
        )
    )
