"""Reads of interactions, tasks and tickets. Interactions and tickets follow their
customer's visibility (`customers.selectors.visible_through_customer`); tasks
belong to their assignee, and managers see their teams' tasks."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db.models import Case, IntegerField, Q, QuerySet, When
from django.utils import timezone

from crm.access import register_scope
from crm.models import User
from crm.roles import SERVICE_AGENT
from customers.models import Customer
from customers.selectors import (
    editable_customers,
    managed_team_ids,
    people_for_customer,
    visible_customers,
    visible_through_customer,
)
from customers.timeline import TimelinePage, customer_timeline
from interactions.models import (
    ACTIVE_TICKET_STATUSES,
    DEFAULT_SLA_HOURS,
    Interaction,
    ServiceTicket,
    SlaPolicy,
    Task,
    TicketComment,
)

SERVE_ALL = "interactions.serve_all_customers"


def oversees_everyone(user: User) -> bool:
    """Stewards, auditors and admins: everyone's tasks, and (with the write
    permissions) everyone's interactions. Not a service agent, who sees every
    customer but only their own tasks."""
    return user.is_superuser or user.has_perm("crm.view_all_users")


def servable_customers(user: User) -> QuerySet[Customer]:
    """The customers the user may log interactions and open tickets for: those
    they work on; every customer they see for a service agent (客服)."""
    if user.has_perm(SERVE_ALL):
        return visible_customers(user)
    return editable_customers(user)


def serves(user: User, access) -> bool:
    """Whether the user logs and opens tickets for a customer, given its access."""
    return access.can_edit or user.has_perm(SERVE_ALL)


@register_scope(Interaction)
def visible_interactions(user: User) -> QuerySet[Interaction]:
    """The interactions of the live customers the user may see, notes included."""
    return visible_through_customer(Interaction, user)


def interaction_list(user: User) -> QuerySet[Interaction]:
    return visible_interactions(user).select_related("customer", "user", "contact")


def interaction_get(user: User, interaction_id: int) -> Interaction:
    return (
        visible_interactions(user)
        .select_related("customer", "user", "contact")
        .get(pk=interaction_id)
    )


def interaction_tasks(user: User, interaction: Interaction) -> list[Task]:
    """The follow-up tasks of an interaction that the user may see."""
    return list(visible_tasks(user).filter(interaction=interaction).select_related("assignee"))


@register_scope(Task)
def visible_tasks(user: User) -> QuerySet[Task]:
    """One's own tasks and those one gave; a manager's teams' tasks; everything
    for those who see every customer. A task about a customer the user can no
    longer see stays with its assignee only."""
    qs = Task.objects.all()
    if not user.has_perm("interactions.view_task"):
        return qs.none()
    if oversees_everyone(user):
        return qs
    rule = Q(assignee=user) | Q(created_by=user)
    teams = managed_team_ids(user)
    if teams:
        rule |= Q(assignee__team_id__in=teams)
    return qs.filter(rule)


def task_people(user: User) -> QuerySet[User]:
    """Whose tasks the user may list, and whom they may give one: themselves, a
    manager's team members; everyone active for stewards and admins."""
    if oversees_everyone(user):
        return User.objects.filter(is_active=True).order_by("username")
    teams = managed_team_ids(user)
    return User.objects.filter(Q(pk=user.pk) | Q(team_id__in=teams, is_active=True)).order_by(
        "username"
    )


def tomorrow_starts(now: datetime.datetime | None = None) -> datetime.datetime:
    """Midnight at the end of today, local time (Asia/Shanghai by default)."""
    tomorrow = timezone.localdate(now) + datetime.timedelta(days=1)
    return timezone.make_aware(datetime.datetime.combine(tomorrow, datetime.time()))


@dataclass
class TaskBoard:
    overdue: list[Task] = field(default_factory=list)
    today: list[Task] = field(default_factory=list)
    upcoming: list[Task] = field(default_factory=list)
    done: list[Task] = field(default_factory=list)
    overdue_more: int = 0  # beyond those shown
    today_more: int = 0
    upcoming_more: int = 0


SHOWN = 50  # tasks shown per section; the rest are counted ("show all": ALL_SHOWN)
ALL_SHOWN = 500
DONE_SHOWN = 10


def _shown_and_more(queryset: QuerySet[Task], limit: int) -> tuple[list[Task], int]:
    rows = list(queryset[: limit + 1])
    if len(rows) <= limit:
        return rows, 0
    return rows[:limit], queryset.count() - limit


def task_board(
    user: User, *, assignees: QuerySet[User] | list[int], expand: str = "", now=None
) -> TaskBoard:
    """The open tasks of `assignees` (among what the user may see) by due date:
    overdue (oldest first), today and upcoming, SHOWN of each (ALL_SHOWN of the
    `expand`ed one) with the rest counted, and the latest done."""
    now = now or timezone.now()
    tomorrow = tomorrow_starts(now)
    base = (
        visible_tasks(user)
        .filter(assignee__in=assignees)
        .select_related("customer", "assignee")
        .order_by("due_at", "id")
    )
    open_tasks = base.filter(done_at__isnull=True)
    sections = {
        "overdue": open_tasks.filter(due_at__lt=now),
        "today": open_tasks.filter(due_at__gte=now, due_at__lt=tomorrow),
        "upcoming": open_tasks.filter(due_at__gte=tomorrow),
    }
    board = TaskBoard()
    for name, queryset in sections.items():
        shown, more = _shown_and_more(queryset, ALL_SHOWN if name == expand else SHOWN)
        setattr(board, name, shown)
        setattr(board, f"{name}_more", more)
    board.done = list(base.filter(done_at__isnull=False).order_by("-done_at", "-id")[:DONE_SHOWN])
    return board


def due_tasks(user: User) -> QuerySet[Task]:
    """The navigation badge: the user's own open tasks due by the end of today."""
    tomorrow = tomorrow_starts()
    return Task.objects.filter(assignee=user, done_at__isnull=True, due_at__lt=tomorrow)


def due_task_count(user: User) -> int:
    return due_tasks(user).count()


@register_scope(ServiceTicket)
def visible_tickets(user: User) -> QuerySet[ServiceTicket]:
    """The tickets of the live customers the user may see, and those assigned to them."""
    return visible_through_customer(ServiceTicket, user, also=Q(assignee=user))


def ticket_list(user: User) -> QuerySet[ServiceTicket]:
    return visible_tickets(user).select_related("customer", "assignee")


def ticket_get(user: User, ticket_id: int) -> ServiceTicket:
    return (
        visible_tickets(user)
        .select_related("customer", "assignee", "order", "created_by")
        .get(pk=ticket_id)
    )


def ticket_people(user: User, customer: Customer, ticket: ServiceTicket | None = None):
    """Whom a ticket of this customer may go to: those a sale of it may go to
    (customers.selectors.people_for_customer), the service agents, and whoever has it."""

    ids = set(people_for_customer(user, customer).values_list("pk", flat=True))
    if ticket is not None and ticket.assignee_id:
        ids.add(ticket.assignee_id)
    return (
        User.objects.filter(Q(pk__in=ids) | Q(groups__name=SERVICE_AGENT, is_active=True))
        .distinct()
        .order_by("username")
    )


def ticket_thread(ticket: ServiceTicket) -> list[TicketComment]:
    return list(ticket.comments.select_related("author"))


def sla_policies() -> dict[str, SlaPolicy]:
    """Each priority's policy (the defaults for any missing row)."""
    rows = {policy.priority: policy for policy in SlaPolicy.objects.all()}
    for priority, hours in DEFAULT_SLA_HOURS.items():
        rows.setdefault(priority, SlaPolicy(priority=priority, resolve_hours=hours))
    return rows


CARDS_ON_PAGE = 10


@dataclass
class CustomerService:
    """The 360° page's share of this app: the timeline's first page, the open
    tasks about the customer and its latest tickets (a fixed number of queries)."""

    timeline: TimelinePage
    tasks: list[Task]
    tickets: list[ServiceTicket]
    sees_tasks: bool
    sees_tickets: bool


def customer_service(user: User, customer: Customer, *, kind: str = "") -> CustomerService:
    sees_tasks = user.has_perm("interactions.view_task")
    sees_tickets = user.has_perm("interactions.view_serviceticket")
    tasks = (
        list(
            visible_tasks(user)
            .filter(customer=customer, done_at__isnull=True)
            .select_related("assignee")
            .order_by("due_at", "id")[:CARDS_ON_PAGE]
        )
        if sees_tasks
        else []
    )
    tickets = []
    if sees_tickets:
        tickets = list(
            customer.tickets.select_related("assignee")
            .annotate(
                closed=Case(
                    When(status__in=ACTIVE_TICKET_STATUSES, then=0),
                    default=1,
                    output_field=IntegerField(),
                )
            )
            .order_by("closed", "-created_at", "-id")[:CARDS_ON_PAGE]
        )
    return CustomerService(
        timeline=customer_timeline(user, customer, kind=kind),
        tasks=tasks,
        tickets=tickets,
        sees_tasks=sees_tasks,
        sees_tickets=sees_tickets,
    )


# The pool's no-interaction clock (customers.pool.ACTIVITY): the local day of the
# customer's last interaction since its owner took it, before the as-of day ends.
LAST_TOUCH_SQL = """(SELECT (max(i.occurred_at) AT TIME ZONE %(tz)s)::date
              FROM interactions_interaction i
             WHERE i.customer_id = c.id AND i.occurred_at >= c.owner_since
               AND i.occurred_at < %(end)s)"""
