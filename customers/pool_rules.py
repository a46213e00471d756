"""The pool rules in force (DESIGN §5) and the checks a change of owner
must pass. `RuleBook` reads every `PoolRule` row once and resolves the rules of a
team and importance level, the most specific row first; the checks hold the
receiver's cap (counting a batch one by one), the daily claim quota and the
cool-down before a previous owner takes a customer again, and lock the
receiver's row so that a rep's parallel claims queue up. `customers.ownership`
applies them before it writes, `customers.pool_lock` before it locks, and
`customers.pool` reads the rules' table to find what is due."""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from crm.models import User
from customers.models import (
    POOL_RULE_VALUES,
    Customer,
    OwnershipChange,
    OwnershipKind,
    PoolRule,
    Stage,
)
from customers.selectors import assignable_owners

# Won customers have bought: any stage past lead.
WON_STAGES = (Stage.ACTIVE, Stage.AT_RISK, Stage.CHURNED)


@dataclass(frozen=True)
class Rules:
    """The rules in force for one team and importance level."""

    max_customers: int = 0
    count_won: bool = True
    max_claims_per_day: int = 0
    max_locked: int = 10
    protection_days: int = 7
    protection_extension_days: int = 7
    protection_max_days: int = 30
    no_interaction_days: int = 0
    no_order_days: int = 0
    cooldown_days: int = 30
    exempt_open_opportunity: bool = True
    exempt_order_days: int = 30
    warn_days: int = 3
    # The cap came from a row for one importance level: count that level only.
    cap_by_importance: bool = False


class RuleBook:
    """Every PoolRule row, read once, resolved per (team, importance)."""

    def __init__(self, rows: Iterable[PoolRule] | None = None):
        rows = list(PoolRule.objects.all() if rows is None else rows)
        self.rows = {(row.team_id, row.key_account): row for row in rows}

    def rules(self, team_id: int | None, key_account: bool) -> Rules:
        chain = [
            (team_id, key_account),
            (team_id, None),
            (None, key_account),
            (None, None),
        ]
        if team_id is None:
            chain = chain[2:]
        values: dict = {}
        for scope in chain:
            row = self.rows.get(scope)
            if row is None:
                continue
            for name in POOL_RULE_VALUES:
                value = getattr(row, name)
                if value is not None and name not in values:
                    values[name] = value
                    if name == "max_customers":
                        values["cap_by_importance"] = scope[1] is not None
        return Rules(**values)

    def ruled_teams(self) -> list[int]:
        """The teams with rows of their own; any other team follows the company's."""
        return sorted({team_id for team_id, _key in self.rows if team_id is not None})

    def table(self) -> list[dict]:
        """The rules of each team with its own rows, and of every other team (team
        None), for both importance levels, for SQL."""
        team_ids = [None, *self.ruled_teams()]
        rows = []
        for team_id in team_ids:
            for key in (True, False):
                rules = self.rules(team_id, key)
                row = {f.name: getattr(rules, f.name) for f in fields(Rules)}
                rows.append({"team_id": team_id, "key_account": key, **row})
        return rows


# --- the checks --------------------------------------------------------------


def _day_start(moment: datetime.datetime) -> datetime.datetime:
    local = timezone.localtime(moment)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def receiver_lock(user: User) -> User:
    """Lock the receiver's row: their claims and assignments queue up behind one
    another. Always before the customers' rows, so two writers cannot deadlock."""
    return User.objects.select_for_update().get(pk=user.pk)


class _Holdings:
    """What one person holds now, counted once and kept up to date while a batch
    of customers is checked one by one."""

    def __init__(self, user: User):
        held = Customer.objects.alive().filter(owner=user)
        self.by_key = Counter(held.values_list("is_key_account", flat=True))
        self.won_by_key = Counter(
            held.filter(stage__in=WON_STAGES).values_list("is_key_account", flat=True)
        )
        self.locked = held.filter(locked_at__isnull=False).count()

    def count(self, rules: Rules, key_account: bool) -> int:
        keys = (key_account,) if rules.cap_by_importance else (True, False)
        total = sum(self.by_key[k] for k in keys)
        if not rules.count_won:
            total -= sum(self.won_by_key[k] for k in keys)
        return total

    def add(self, customer: Customer) -> None:
        self.by_key[customer.is_key_account] += 1
        if customer.stage in WON_STAGES:
            self.won_by_key[customer.is_key_account] += 1


def _cap_error(user: User, actor: User, rules: Rules, held: int) -> ValidationError:
    params = {"person": user, "held": held, "cap": rules.max_customers}
    if user.pk == actor.pk:
        text = _(
            "You already hold %(held)d customers, the most the pool rules allow "
            "(%(cap)d); release one first."
        )
    else:
        text = _(
            "%(person)s already holds %(held)d customers, the most the pool rules allow (%(cap)d)."
        )
    return ValidationError(text, code="cap", params=params)


def _cooldown_check(customer: Customer, user: User, actor: User, rules: Rules, now) -> None:
    if rules.cooldown_days <= 0:
        return
    since = _day_start(now) - datetime.timedelta(days=rules.cooldown_days - 1)
    left = (
        OwnershipChange.objects.filter(customer=customer, from_user=user, at__gte=since)
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )
    if left is None:
        return
    free_on = timezone.localdate(left) + datetime.timedelta(days=rules.cooldown_days)
    params = {"customer": customer.name, "date": date_format(free_on), "person": user}
    if user.pk == actor.pk:
        text = _("You held %(customer)s until recently; you may take it again from %(date)s.")
    else:
        text = _(
            "%(person)s held %(customer)s until recently; they may have it again from %(date)s."
        )
    raise ValidationError(text, code="cooldown", params=params)


def _receive_check(
    customers: Sequence[Customer], user: User, actor: User, book: RuleBook, now, *, claim: bool
) -> None:
    """Whether `user` may take all of `customers` now: the cap (counting each in
    turn), the cool-down and, for a claim, the day's quota."""
    holdings = _Holdings(user)
    claims_today = (
        OwnershipChange.objects.filter(
            kind=OwnershipKind.CLAIM, to_user=user, at__gte=_day_start(now)
        ).count()
        if claim
        else 0
    )
    for customer in customers:
        rules = book.rules(user.team_id, customer.is_key_account)
        _cooldown_check(customer, user, actor, rules, now)
        held = holdings.count(rules, customer.is_key_account)
        counts = rules.count_won or customer.stage not in WON_STAGES
        if rules.max_customers and counts and held >= rules.max_customers:
            raise _cap_error(user, actor, rules, held)
        if claim and rules.max_claims_per_day and claims_today >= rules.max_claims_per_day:
            raise ValidationError(
                _("You have claimed %(count)d customers today, the most allowed per day."),
                code="quota",
                params={"count": claims_today},
            )
        holdings.add(customer)
        claims_today += 1


def _receiver_clean(actor: User, user: User) -> User:
    if not user.is_active:
        raise ValidationError(
            {"owner": ValidationError(_("%(person)s's account is deactivated; choose someone "
                                        "who works here."), code="inactive",
                                      params={"person": user})}
        )  # fmt: skip
    if user.pk != actor.pk and not assignable_owners(actor).filter(pk=user.pk).exists():
        raise ValidationError(
            {"owner": ValidationError(_("Choose a sales rep from the list."), code="bad_owner")}
        )
    return user
