"""Salesperson and team performance for a period, and the monthly targets behind it.

Revenue is what the customer metrics count as a purchase (a paid, shipped or
completed order), less refunds, converted to CNY at each order's rate and rounded
per order to the cent, attributed to the order's salesperson and to the team the
salesperson was in when the order was taken. Orders are those purchases. A new
customer is one whose first purchase ever is one of those orders. The figures are
read from the sales by day (`sales.rollup`) and the customer metrics, both kept
in step with every order write, so a year of a busy team is a few hundred rows. The win rate is
won / (won + lost) among the opportunities closed in the period. The target of a
team is its own, or, for months where it has none, the sum of its members'.

Who sees what: everyone sees themselves; a rep also sees their team's totals, not
its members; a manager sees the teams they manage and each of their members;
admins, data stewards and auditors see every team and person.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from crm import roles
from crm.audit import audit_record
from crm.models import AuditAction, Team, User
from crm.selectors import sees_everyone
from customers.models import CustomerMetrics
from sales.models import (
    BASE_CURRENCY,
    ZERO,
    Opportunity,
    SalesDay,
    SalesTarget,
    Stage,
    cents,
    percent,
)
from sales.services.values import money_clean

SELLING_ROLES = (roles.SALES_REP, roles.SALES_MANAGER)


@dataclass(frozen=True)
class Subject:
    """Whose performance: one person or one team."""

    kind: str  # "user" or "team"
    pk: int
    label: str
    breakdown: bool = False  # the viewer may see each member of the team

    @property
    def key(self) -> str:
        return f"{self.kind}-{self.pk}"

    def opportunities(self) -> Q:
        return Q(owner_id=self.pk) if self.kind == "user" else Q(team_id=self.pk)


def _selling_users() -> QuerySet[User]:
    return User.objects.filter(is_active=True, groups__name__in=SELLING_ROLES).distinct()


def performance_subjects(viewer: User) -> list[Subject]:
    """Everyone and every team the viewer may see the figures of, themselves first."""
    subjects = [Subject("user", viewer.pk, str(viewer))]
    if sees_everyone(viewer):
        teams = list(Team.objects.order_by("name"))
        managed = {team.pk for team in teams}
        people = _selling_users().exclude(pk=viewer.pk).order_by("username")
    else:
        managed_teams = (
            list(viewer.managed_teams.order_by("name"))
            if viewer.has_perm("customers.view_team_customers")
            else []
        )
        managed = {team.pk for team in managed_teams}
        teams = list(managed_teams)
        if viewer.team_id and viewer.team_id not in managed:
            teams.insert(0, viewer.team)
        people = (
            _selling_users().filter(team_id__in=managed).exclude(pk=viewer.pk).order_by("username")
        )
    subjects += [Subject("team", t.pk, str(t), breakdown=t.pk in managed) for t in teams]
    subjects += [Subject("user", u.pk, str(u)) for u in people]
    return subjects


def subject_for(viewer: User, key: str) -> Subject | None:
    """The subject a `who` parameter names ("me", "user-3", "team-2") if the viewer
    may see it; None otherwise (the page answers 404, never someone else's figures)."""
    subjects = performance_subjects(viewer)
    if key in ("", "me"):
        return subjects[0]
    return next((s for s in subjects if s.key == key), None)


# --- periods ---------------------------------------------------------------------


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def month_after(month: datetime.date) -> datetime.date:
    return (month.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)


def months_between(start: datetime.date, end: datetime.date) -> list[datetime.date]:
    """The first days of the months from `start` up to, not including, `end`."""
    months, month = [], month_start(start)
    while month < end:
        months.append(month)
        month = month_after(month)
    return months


def _moment(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(), timezone.get_current_timezone())


# --- figures ---------------------------------------------------------------------


@dataclass
class Figures:
    revenue: Decimal = ZERO
    orders: int = 0
    new_customers: int = 0
    won: int = 0
    lost: int = 0
    target: Decimal | None = None

    @property
    def average_order_value(self) -> Decimal | None:
        return cents(self.revenue / self.orders) if self.orders else None

    @property
    def win_rate(self) -> int | None:
        return percent(self.won, self.won + self.lost)

    @property
    def attainment(self) -> int | None:
        """Revenue as a share of the target, in per cent."""
        return percent(self.revenue, self.target)


@dataclass
class Performance:
    subject: Subject
    start: datetime.date
    end: datetime.date  # exclusive
    totals: Figures
    months: list[tuple[datetime.date, Figures]] = field(default_factory=list)
    members: list[tuple[User, Figures]] = field(default_factory=list)


def _days(subject: Subject, start: datetime.date, end: datetime.date) -> QuerySet[SalesDay]:
    """The subject's sales by day in [start, end) (sales.rollup keeps them)."""
    key = {"salesperson_key": subject.pk} if subject.kind == "user" else {"team_key": subject.pk}
    return SalesDay.objects.filter(day__gte=start, day__lt=end, **key)


def _firsts(subject: Subject, start: datetime.date, end: datetime.date):
    """Customers whose first purchase ever is the subject's and in [start, end)."""
    key = (
        {"first_salesperson_key": subject.pk}
        if subject.kind == "user"
        else {"first_team_key": subject.pk}
    )
    return CustomerMetrics.objects.filter(
        first_purchase_at__gte=_moment(start), first_purchase_at__lt=_moment(end), **key
    )


def _closed(condition: Q, start: datetime.date, end: datetime.date) -> QuerySet[Opportunity]:
    return Opportunity.objects.filter(
        condition,
        stage__in=(Stage.WON, Stage.LOST),
        closed_at__gte=_moment(start),
        closed_at__lt=_moment(end),
    )


_WON = Count("id", filter=Q(stage=Stage.WON))
_LOST = Count("id", filter=Q(stage=Stage.LOST))


def _targets_by_month(subject: Subject, start, end) -> dict[datetime.date, Decimal]:
    rows = SalesTarget.objects.filter(month__gte=start, month__lt=end)
    if subject.kind == "user":
        return dict(rows.filter(user_id=subject.pk).values_list("month", "revenue"))
    own = dict(rows.filter(team_id=subject.pk).values_list("month", "revenue"))
    members = (
        rows.filter(user__team_id=subject.pk)
        .values("month")
        .annotate(total=Sum("revenue"))
        .values_list("month", "total")
    )
    return {**dict(members), **own}


def performance(subject: Subject, start: datetime.date, end: datetime.date) -> Performance:
    """The subject's figures for [start, end), month by month, and for a team the
    viewer may break down, each member's. A fixed number of queries."""
    days = _days(subject, start, end)
    by_month = {
        _day(row["month"]): row
        for row in days.annotate(month=TruncMonth("day"))
        .values("month")
        .annotate(revenue=Sum("revenue"), n=Sum("orders"))
        .order_by()
    }
    firsts = _firsts(subject, start, end)
    new_by_month = {
        _day(month): n
        for month, n in firsts.annotate(month=TruncMonth("first_purchase_at"))
        .values("month")
        .annotate(n=Count("customer_id"))
        .values_list("month", "n")
        .order_by()
    }
    closed = _closed(subject.opportunities(), start, end)
    outcomes = dict.fromkeys(("won", "lost"), 0) | closed.aggregate(won=_WON, lost=_LOST)
    targets = _targets_by_month(subject, start, end)
    months = []
    for month in months_between(start, end):
        row = by_month.get(month, {})
        months.append(
            (
                month,
                Figures(
                    revenue=row.get("revenue") or ZERO,
                    orders=row.get("n") or 0,
                    new_customers=new_by_month.get(month, 0),
                    target=targets.get(month),
                ),
            )
        )
    totals = Figures(
        revenue=sum((f.revenue for _m, f in months), ZERO),
        orders=sum(f.orders for _m, f in months),
        new_customers=sum(f.new_customers for _m, f in months),
        won=outcomes["won"],
        lost=outcomes["lost"],
        target=sum(targets.values(), ZERO) if targets else None,
    )
    result = Performance(subject=subject, start=start, end=end, totals=totals, months=months)
    if subject.kind == "team" and subject.breakdown:
        result.members = _members(subject, days, firsts, closed, start, end)
    return result


def _day(value) -> datetime.date:
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value


def _members(subject, days, firsts, closed, start, end) -> list[tuple[User, Figures]]:
    figures: dict[int | None, Figures] = defaultdict(Figures)
    rows = days.values("salesperson_key").annotate(r=Sum("revenue"), n=Sum("orders")).order_by()
    for row in rows:
        person = row["salesperson_key"] or None
        figures[person].revenue = row["r"] or ZERO
        figures[person].orders = row["n"]
    new = firsts.values("first_salesperson_key").annotate(n=Count("customer_id")).order_by()
    for row in new:
        figures[row["first_salesperson_key"] or None].new_customers = row["n"]
    for row in closed.values("owner_id").annotate(won=_WON, lost=_LOST).order_by():
        figures[row["owner_id"]].won, figures[row["owner_id"]].lost = row["won"], row["lost"]
    targets = (
        SalesTarget.objects.filter(month__gte=start, month__lt=end, user__isnull=False)
        .filter(Q(user__team_id=subject.pk) | Q(user_id__in=[k for k in figures if k]))
        .values("user_id")
        .annotate(total=Sum("revenue"))
    )
    for row in targets.order_by():
        figures[row["user_id"]].target = row["total"]
    ids = {pk for pk in figures if pk} | set(
        _selling_users().filter(team_id=subject.pk).values_list("pk", flat=True)
    )
    people = {u.pk: u for u in User.objects.filter(pk__in=ids)}
    rows = [(people[pk], figures[pk]) for pk in ids]
    rows.sort(key=lambda row: (-row[1].revenue, row[0].username))
    return rows


# --- targets ---------------------------------------------------------------------


def target_subjects(actor: User) -> list[Subject]:
    """Whose targets the actor sets: the teams they manage and their members (all
    teams and salespeople for admins)."""
    if not actor.has_perm("sales.change_salestarget"):
        return []
    if actor.is_superuser:
        teams = list(Team.objects.order_by("name"))
    else:
        teams = list(actor.managed_teams.order_by("name"))
    people = _selling_users().filter(team__in=teams).order_by("team__name", "username")
    return [Subject("team", t.pk, str(t)) for t in teams] + [
        Subject("user", u.pk, str(u)) for u in people
    ]


@transaction.atomic
def targets_save(
    *,
    actor: User,
    month: datetime.date,
    values: Mapping[str, object],
    request=None,
) -> int:
    """Set the month's targets: `values` maps a subject key ("team-2", "user-7") to
    an amount, or to empty to remove the target. Returns how many changed; raises
    ValidationError keyed by subject for amounts that are not amounts."""
    allowed = {subject.key: subject for subject in target_subjects(actor)}
    if not allowed:
        raise ValidationError(_("You may not set targets."), code="forbidden")
    month = month_start(month)
    errors, clean = {}, {}
    for key, raw in values.items():
        if key not in allowed:
            raise ValidationError(_("You may not set targets."), code="forbidden")
        try:
            clean[key] = money_clean(raw, BASE_CURRENCY, required=False)
        except ValidationError as exc:
            errors[key] = [exc]
    if errors:
        raise ValidationError(errors)
    changed = 0
    now = timezone.now()
    for key, amount in clean.items():
        subject = allowed[key]
        where = {"month": month, f"{subject.kind}_id": subject.pk}
        existing = SalesTarget.objects.select_for_update().filter(**where).first()
        old = existing.revenue if existing else None
        if old == amount:
            continue
        if amount is None:
            action, target = AuditAction.DELETE, existing
        elif existing:
            existing.revenue, existing.updated_by, existing.updated_at = amount, actor, now
            existing.save(update_fields=["revenue", "updated_by", "updated_at"])
            action, target = AuditAction.UPDATE, existing
        else:
            try:
                with transaction.atomic():
                    target = SalesTarget.objects.create(
                        revenue=amount, updated_by=actor, updated_at=now, **where
                    )
            except IntegrityError:  # someone set it at the same moment
                raise ValidationError(
                    {key: [_("Someone set this target at the same moment; reload the page.")]}
                ) from None
            action = AuditAction.CREATE
        audit_record(
            actor=actor,
            action=action,
            target=target,
            changes={"revenue": (old, amount)},
            extra={"month": f"{month:%Y-%m}", "for": subject.label},
            request=request,
        )
        if amount is None:
            existing.delete()
        changed += 1
    return changed
