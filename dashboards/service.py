"""The service dashboard: what a service agent (or whoever oversees service)
answers for — the tickets open now and their SLA, the tickets of the period and
how fast they were resolved, satisfaction — over the tickets the viewer may
see, in a fixed number of queries.

Tickets are live rows, not a rollup: a service desk of a small or mid-size
company opens thousands a year, not millions, and the queue's partial index
serves the open ones.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Avg, Count, F, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from crm import roles
from crm.models import User
from dashboards import forecast as fc
from dashboards.figures import Chart, day_start, feedback_satisfaction, month_label, months_between
from interactions.models import ACTIVE_TICKET_STATUSES, TaskPriority, TicketCategory
from interactions.selectors import visible_tickets
from sales.performance import Subject

DUE_SOON = datetime.timedelta(hours=2)  # as the ticket list's SLA badge warns
SALES_ROLES = frozenset({roles.SALES_REP, roles.SALES_MANAGER})
EVERYONE = Subject("all", 0, "")  # the tickets' feedback: all the viewer may see


def sees_service(user: User) -> bool:
    return user.has_perm("interactions.view_serviceticket") and user.has_perm(
        "customers.view_customer"
    )


def service_first(user: User) -> bool:
    """Whose dashboard is the service one unless they ask for the other: those who
    handle tickets and sell nothing."""
    if user.is_superuser or not sees_service(user):
        return False
    names = set(user.groups.values_list("name", flat=True))
    return roles.SERVICE_AGENT in names and not names & SALES_ROLES


@dataclass
class ServiceBoard:
    first: datetime.date
    last: datetime.date
    tiles: dict = field(default_factory=dict)
    charts: list[Chart] = field(default_factory=list)
    agents: list[dict] = field(default_factory=list)  # per assignee, busiest first

    def chart(self, key: str) -> Chart | None:
        return next((c for c in self.charts if c.key == key), None)


def _percent(part: int, whole: int) -> int | None:
    return round(100 * part / whole) if whole else None


def _hours(duration: datetime.timedelta | None) -> Decimal | None:
    if duration is None:
        return None
    return Decimal(duration.total_seconds() / 3600).quantize(Decimal("0.1"), ROUND_HALF_UP)


def service_board(viewer: User, first: datetime.date, last: datetime.date) -> ServiceBoard:
    """The figures for the months first..last and the queue as it stands now."""
    now = timezone.now()
    end = fc.month_after(last)
    start, stop = day_start(first), day_start(end)
    tickets = visible_tickets(viewer).order_by()
    board = ServiceBoard(first, last)

    running = Q(waiting_since__isnull=True)
    queue = tickets.filter(status__in=ACTIVE_TICKET_STATUSES).aggregate(
        open=Count("pk"),
        past_sla=Count("pk", filter=running & Q(sla_due_at__lt=now)),
        due_soon=Count(
            "pk", filter=running & Q(sla_due_at__gte=now, sla_due_at__lt=now + DUE_SOON)
        ),
        waiting=Count("pk", filter=Q(waiting_since__isnull=False)),
        unassigned=Count("pk", filter=Q(assignee__isnull=True)),
    )
    opened = tickets.filter(created_at__gte=start, created_at__lt=stop)
    resolved = tickets.filter(resolved_at__gte=start, resolved_at__lt=stop)
    done = resolved.aggregate(
        resolved=Count("pk"),
        met=Count("pk", filter=Q(resolved_at__lte=F("sla_due_at"))),
        hours=Avg(F("resolved_at") - F("created_at")),
        rating=Avg("satisfaction"),
        rated=Count("satisfaction"),
    )
    board.tiles = {
        **queue,
        "opened": opened.count(),
        "resolved": done["resolved"],
        "sla_met_percent": _percent(done["met"], done["resolved"]),
        "resolve_hours": _hours(done["hours"]),
        "rating": None
        if done["rating"] is None
        else Decimal(str(done["rating"])).quantize(Decimal("0.1"), ROUND_HALF_UP),
        "rated": done["rated"],
        **feedback_satisfaction(viewer, EVERYONE, first, end),
    }
    board.charts = [
        _by_month(opened, resolved, months_between(first, end), timezone.localdate(now)),
        _counted(
            "ticket_categories", _("Tickets opened by category"), "hbar",
            opened, "category", TicketCategory.choices,
        ),
        _counted(
            "open_priorities", _("Open tickets by priority"), "doughnut",
            tickets.filter(status__in=ACTIVE_TICKET_STATUSES), "priority",
            TaskPriority.choices,
        ),
    ]  # fmt: skip
    board.agents = _agents(tickets, resolved, now)
    return board


def _by_month(opened, resolved, months: list[datetime.date], today: datetime.date) -> Chart:
    zone = timezone.get_current_timezone()
    new = {
        timezone.localdate(row["month"]): row["n"]
        for row in opened.annotate(month=TruncMonth("created_at", tzinfo=zone))
        .values("month")
        .annotate(n=Count("pk"))
    }
    closed = {
        timezone.localdate(row["month"]): row
        for row in resolved.annotate(month=TruncMonth("resolved_at", tzinfo=zone))
        .values("month")
        .annotate(n=Count("pk"), late=Count("pk", filter=Q(resolved_at__gt=F("sla_due_at"))))
    }
    nothing = {"n": 0, "late": 0}
    return Chart(
        "tickets", _("Tickets by month"), "bar", [month_label(m, today) for m in months],
        [
            (pgettext("tickets", "Opened"), [new.get(m, 0) for m in months]),
            (_("Resolved within the SLA"),
             [closed.get(m, nothing)["n"] - closed.get(m, nothing)["late"] for m in months]),
            (_("Resolved late"), [closed.get(m, nothing)["late"] for m in months]),
        ],
    )  # fmt: skip


def _counted(key, title, kind, tickets, name, choices) -> Chart:
    counts = dict(tickets.values(name).annotate(n=Count("pk")).values_list(name, "n"))
    return Chart(
        key, title, kind, [label for __, label in choices],
        [(_("Tickets"), [counts.get(value, 0) for value, __ in choices])],
    )  # fmt: skip


def _agents(tickets, resolved, now) -> list[dict]:
    """Per assignee: open now, past the SLA now, resolved in the period and within it."""
    rows: dict[int | None, dict] = {}
    queue = (
        tickets.filter(status__in=ACTIVE_TICKET_STATUSES)
        .values("assignee")
        .annotate(
            open=Count("pk"),
            past_sla=Count("pk", filter=Q(waiting_since__isnull=True, sla_due_at__lt=now)),
        )
    )
    for row in queue:
        rows.setdefault(row["assignee"], {"resolved": 0, "met": 0}).update(row)
    done = (
        resolved.values("assignee")
        .annotate(resolved=Count("pk"), met=Count("pk", filter=Q(resolved_at__lte=F("sla_due_at"))))
    )  # fmt: skip
    for row in done:
        rows.setdefault(row["assignee"], {"open": 0, "past_sla": 0}).update(row)
    people = {user.pk: user for user in User.objects.filter(pk__in=[k for k in rows if k])}
    table = [
        {
            "person": people.get(key),
            "open": row.get("open", 0),
            "past_sla": row.get("past_sla", 0),
            "resolved": row.get("resolved", 0),
            "sla_met_percent": _percent(row.get("met", 0), row.get("resolved", 0)),
        }
        for key, row in rows.items()
    ]
    return sorted(table, key=lambda r: (-r["open"], -r["resolved"], str(r["person"] or "")))
