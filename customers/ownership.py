"""Who owns a customer (DESIGN §5, issue 10): the one service that changes it.

Every change of owner comes through here: a rep's claim from the shared pool
(公海) and release to it, a manager's assignment and transfer (one customer or
many), a new customer's first owner (the form, an import with an owner), a merge
and the nightly recycle. Each applies the pool rules (`PoolRule`: a rep's cap,
the daily claim quota, the cool-down before a previous owner takes a customer
again), writes one ledger row (`OwnershipChange`) and one audit event per
customer, and keeps `owner_since`, from which the recycle clocks count. No other
code writes the owner column; a test reads the sources to hold that.

Races: the customers are locked with SELECT … FOR UPDATE, and so is the row of
the person who receives them, so two claims of one customer end with one winner
and a rep's parallel claims are counted one after the other against the cap.
"""

from __future__ import annotations

import datetime
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop, ngettext_lazy

from crm.audit import audit_record
from crm.models import AuditAction, User
from crm.services import lazy_format, notify
from customers.models import (
    Customer,
    OwnershipChange,
    OwnershipKind,
    PoolRule,
    ReleaseReason,
    Stage,
)

# The values a PoolRule holds (all but its scope), in the order of the admin form.
POOL_RULE_VALUES = (
    "max_customers",
    "count_won",
    "max_claims_per_day",
    "max_locked",
    "protection_days",
    "protection_extension_days",
    "protection_max_days",
    "no_interaction_days",
    "no_order_days",
    "cooldown_days",
    "exempt_open_opportunity",
    "exempt_order_days",
    "warn_days",
)
# Won customers have bought: any stage past lead.
WON_STAGES = (Stage.ACTIVE, Stage.AT_RISK, Stage.CHURNED)
SYSTEM = "kehu"
# The release reasons a new site starts with (editable in Django admin).
DEFAULT_RELEASE_REASONS = (
    gettext_noop("Not interested"),
    gettext_noop("Cannot be reached"),
    gettext_noop("Bought from a competitor"),
    gettext_noop("Not my region or line"),
    gettext_noop("Other"),
)  # the actor name of the recycle job in the audit log


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
    from customers.selectors import assignable_owners

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


# --- writing a change ---------------------------------------------------------


class _OwnerWrite:
    """Open the database's guard on the owner column (migration customers 0021)
    for the statements inside, and close it again."""

    def __enter__(self):
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('kehu.ownership', 'on', true)")

    def __exit__(self, *exc):
        if connection.in_atomic_block and not connection.needs_rollback and exc[0] is None:
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('kehu.ownership', '', true)")
        return False


def who_label(user: User | None) -> str | None:
    """A person as the audit log keeps them: readable after a rename, unique."""
    return f"{user} ({user.get_username()})" if user is not None else None


def _move(
    customers: Sequence[Customer],
    *,
    to_user: User | None,
    kind: str,
    actor: User | None,
    now,
    release_reason: ReleaseReason | None = None,
    note: str = "",
    request=None,
) -> list[OwnershipChange]:
    """Write the change for customers already locked and checked."""
    changes = []
    for customer in customers:
        change = OwnershipChange.objects.create(
            customer=customer,
            kind=kind,
            from_user_id=customer.owner_id,
            to_user=to_user,
            actor=actor,
            at=now,
            release_reason=release_reason,
            note=note,
        )
        before = customer.owner
        customer.owner = to_user
        customer.team_id = to_user.team_id if to_user else None
        customer.owner_since = now if to_user else None
        customer.locked_at = customer.locked_by = None
        customer.pool_entry = change if to_user is None else None
        customer.pool_since = now if to_user is None else None
        customer.version += 1
        customer.updated_at = now
        with _OwnerWrite():
            customer.save(
                update_fields=[
                    "owner", "team", "owner_since", "locked_at", "locked_by", "pool_entry",
                    "pool_since", "version", "updated_at",
                ]
            )  # fmt: skip
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            target=customer,
            changes={"owner": (who_label(before), who_label(to_user))},
            extra={"version": customer.version, "ownership": kind, "note": change.reason_display()},
            request=request,
        )
        changes.append(change)
    return changes


def _locked_customers(qs, ids: Iterable[int]) -> list[Customer]:
    ids = sorted(set(ids))
    return list(
        qs.select_for_update(of=("self",)).select_related("owner").filter(pk__in=ids).order_by("pk")
    )


@transaction.atomic
def customers_claim(*, actor: User, customer_ids: Iterable[int], request=None) -> int:
    """Take customers from the pool. All or none: if any was just claimed by
    someone else, or one would pass the cap or the day's quota, nothing changes."""
    ids = set(customer_ids)
    if not actor.has_perm("customers.change_customer") or not ids:
        raise ValidationError(_("You may not claim customers."), code="forbidden")
    receiver_lock(actor)
    # Unscoped on purpose: the pool is everyone's to see, and a customer claimed a
    # moment ago must answer "taken", not vanish from the actor's scope.
    customers = _locked_customers(Customer.objects.alive(), ids)
    if len(customers) != len(ids):
        raise ValidationError(_("This customer is not in the pool any more."), code="gone")
    taken = [c for c in customers if c.owner_id is not None and c.owner_id != actor.pk]
    if taken:
        raise ValidationError(
            _("%(person)s has just claimed %(customer)s."),
            code="taken",
            params={"person": taken[0].owner, "customer": taken[0].name},
        )
    wanted = [c for c in customers if c.owner_id is None]
    if not wanted:
        return 0  # a repeat click: already the actor's
    now = timezone.now()
    _receive_check(wanted, actor, actor, RuleBook(), now, claim=True)
    return len(_move(wanted, to_user=actor, kind=OwnershipKind.CLAIM, actor=actor, now=now,
                     request=request))  # fmt: skip


def release_reasons() -> list[ReleaseReason]:
    return list(ReleaseReason.objects.filter(is_active=True))


@transaction.atomic
def customers_release(
    *,
    actor: User,
    customer_ids: Iterable[int],
    release_reason: ReleaseReason | None,
    note: str = "",
    request=None,
) -> int:
    """Give customers back to the pool, with a reason from the list. A rep releases
    their own; a manager may release those they may assign."""
    from customers.selectors import editable_customers

    ids = set(customer_ids)
    if release_reason is None or not release_reason.is_active:
        raise ValidationError(
            {"release_reason": ValidationError(_("Choose why from the list."), code="reason")}
        )
    customers = _locked_customers(editable_customers(actor), ids)
    mine = actor.has_perm("customers.assign_customer_owner")
    if len(customers) != len(ids) or any(
        c.owner_id != actor.pk and not (mine and c.owner_id is not None) for c in customers
    ):
        raise ValidationError(_("You may release only customers you own."), code="not_owner")
    return len(
        _move(customers, to_user=None, kind=OwnershipKind.RELEASE, actor=actor,
              now=timezone.now(), release_reason=release_reason, note=note.strip()[:500],
              request=request)
    )  # fmt: skip


@transaction.atomic
def customers_assign(
    *,
    actor: User,
    customer_ids: Iterable[int],
    owner: User | None,
    note: str = "",
    release_reason: ReleaseReason | None = None,
    request=None,
) -> int:
    """A manager hands customers to `owner`: an assignment from the pool, a transfer
    from another rep (both recorded, with the note), or, with no owner, a release
    to the pool (which needs a reason). The receiver's cap and cool-down hold as for
    a claim: no transfer resets the clock of a customer its owner just lost."""
    from customers.selectors import editable_customers

    if not actor.has_perm("customers.assign_customer_owner"):
        raise ValidationError(_("You may not assign customers."), code="forbidden")
    if owner is None:
        return customers_release(
            actor=actor, customer_ids=customer_ids, release_reason=release_reason, note=note,
            request=request,
        )  # fmt: skip
    owner = _receiver_clean(actor, owner)
    ids = set(customer_ids)
    receiver_lock(owner)
    customers = _locked_customers(editable_customers(actor), ids)
    if len(customers) != len(ids):
        raise ValidationError(
            _("Some of the chosen customers are not yours to change."), code="forbidden"
        )
    moving = [c for c in customers if c.owner_id != owner.pk]
    if not moving:
        return 0
    now = timezone.now()
    _receive_check(moving, owner, actor, RuleBook(), now, claim=False)
    note = note.strip()[:500]
    groups = {
        OwnershipKind.ASSIGN: [c for c in moving if c.owner_id is None],
        OwnershipKind.TRANSFER: [c for c in moving if c.owner_id is not None],
    }
    moved = 0
    for kind, group in groups.items():
        moved += len(_move(group, to_user=owner, kind=kind, actor=actor, now=now, note=note,
                           request=request))  # fmt: skip
    _tell_new_owner(owner, actor, moving)
    return moved


def _tell_new_owner(owner: User, actor: User, customers: Sequence[Customer]) -> None:
    if owner.pk == actor.pk or not customers:
        return
    first = customers[0]
    more = len(customers) - 1
    message = (
        ngettext_lazy(
            "%(actor)s gave you %(customer)s and %(more)d more customer.",
            "%(actor)s gave you %(customer)s and %(more)d more customers.",
            more,
        )
        if more
        else gettext_lazy("%(actor)s gave you %(customer)s.")
    )
    text = lazy_format(message, {"actor": str(actor), "customer": first.name, "more": more})
    link = first.get_absolute_url() if len(customers) == 1 else reverse("customers:list")
    transaction.on_commit(lambda: notify(recipient=owner, text=text, link=link))


# --- locking -------------------------------------------------------------------


@transaction.atomic
def customer_lock(*, actor: User, customer_id: int, locked: bool = True, request=None) -> Customer:
    """Lock a customer against recycling (or unlock it). The owner locks their own,
    a manager those they manage; each owner may have only so many locked."""
    from customers.selectors import editable_customers

    customer = (
        editable_customers(actor).select_for_update(of=("self",)).filter(pk=customer_id).first()
    )
    if customer is None:
        raise ValidationError(_("You may not change this customer."), code="forbidden")
    if customer.owner_id is None:
        raise ValidationError(_("Only a customer with an owner can be locked."), code="pool")
    manages = actor.has_perm("customers.assign_customer_owner")
    if customer.owner_id != actor.pk and not manages:
        raise ValidationError(_("Only the owner or a manager locks a customer."), code="forbidden")
    if (customer.locked_at is not None) == locked:
        return customer
    owner = receiver_lock(customer.owner)
    if locked:
        rules = RuleBook().rules(owner.team_id, customer.is_key_account)
        count = Customer.objects.alive().filter(owner=owner, locked_at__isnull=False).count()
        if count >= rules.max_locked:
            raise ValidationError(
                _("%(person)s already has %(count)d locked customers, the most allowed."),
                code="lock_cap",
                params={"person": owner, "count": count},
            )
    now = timezone.now()
    customer.locked_at, customer.locked_by = (now, actor) if locked else (None, None)
    customer.version += 1
    customer.save(update_fields=["locked_at", "locked_by", "version", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        target=customer,
        changes={"locked": (not locked, locked)},
        extra={"version": customer.version},
        request=request,
    )
    return customer


# --- new customers (the form, imports) and merges -------------------------------


def new_customer_owner(actor: User, owner: User | None, *, key_accounts: Sequence[bool] = (False,)):
    """Check that `owner` may receive new customers (one per entry of
    `key_accounts`); returns the owner, locked until the transaction ends."""
    if owner is None:
        return None
    owner = _receiver_clean(actor, owner)
    receiver_lock(owner)
    book, holdings = RuleBook(), _Holdings(owner)
    for key in key_accounts:
        rules = book.rules(owner.team_id, key)
        held = holdings.count(rules, key)
        if rules.max_customers and held >= rules.max_customers:
            raise _cap_error(owner, actor, rules, held)
        holdings.by_key[key] += 1
    return owner


def new_customer_columns(owner: User | None, now, *, team_id: int | None = None) -> dict:
    """The ownership columns of a customer being created (COPY rows, seeds): its
    owner's team unless `team_id` says otherwise (seeds, whose owners are ids)."""
    return {
        "owner_id": owner.pk if owner else None,
        "team_id": (team_id or owner.team_id) if owner else None,
        "owner_since": now if owner else None,
        "pool_since": None if owner else now,
    }


def new_customer_ledger_rows(items: Iterable[tuple[int, User]], kind: str, actor: User, now):
    """Ledger rows (for COPY) of new customers given to their first owner."""
    return [
        {"customer_id": pk, "kind": kind, "from_user_id": None, "to_user_id": owner.pk,
         "actor_id": actor.pk, "at": now, "reason": "", "release_reason_id": None, "note": ""}
        for pk, owner in items
        if owner is not None
    ]  # fmt: skip


def new_customer_record(customer: Customer, actor: User, kind: str) -> None:
    """The ledger row of a customer just created with an owner."""
    if customer.owner_id is not None:
        OwnershipChange.objects.create(
            customer=customer, kind=kind, to_user_id=customer.owner_id, actor=actor,
            at=customer.owner_since or timezone.now(),
        )  # fmt: skip


def merge_owner(*, survivor: Customer, merged: Customer, actor: User, request=None) -> None:
    """A merge keeps the survivor's owner; a survivor in the pool takes the owner of
    the record merged into it, who keeps the customer they worked on."""
    if survivor.owner_id is not None or merged.owner_id is None:
        return
    _move([survivor], to_user=merged.owner, kind=OwnershipKind.MERGE, actor=actor,
          now=timezone.now(), note=merged.number, request=request)  # fmt: skip


def merge_owner_undo(*, survivor: Customer, merged: Customer, actor: User, request=None) -> None:
    """Undoing a merge gives the survivor back to the pool if the merge took it out."""
    change = (
        OwnershipChange.objects.filter(
            customer=survivor, kind=OwnershipKind.MERGE, note=merged.number, from_user=None
        )
        .order_by("-at", "-id")
        .first()
    )
    if change is None or survivor.owner_id != change.to_user_id:
        return
    _move([survivor], to_user=None, kind=OwnershipKind.MERGE, actor=actor, now=timezone.now(),
          note=_("Merge undone"), request=request)  # fmt: skip


# --- the recycle job's write (customers.pool computes what is due) ----------------


def recycle_write(as_of: datetime.date) -> list[tuple[int, int, int | None, str]]:
    """Return to the pool every customer of the temporary table `kehu_due` (id,
    owner_id, team_id, owner_since, reason, due, change_id) that is due (has a
    change_id) and whose owner has not changed since: the owner cleared, one
    ledger row and one audit event each, in one statement. Returns (customer,
    former owner, team, reason) rows."""
    from django.contrib.contenttypes.models import ContentType

    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT owner_id FROM kehu_due WHERE change_id IS NOT NULL")
        owner_ids = [pk for (pk,) in cursor.fetchall()]
        who = {str(u.pk): who_label(u) for u in User.objects.filter(pk__in=owner_ids)}
        cursor.execute("SELECT set_config('kehu.ownership', 'on', true)")
        cursor.execute(
            """
            WITH moved AS (
                UPDATE customers_customer c
                   SET owner_id = NULL, team_id = NULL, owner_since = NULL, locked_at = NULL,
                       locked_by_id = NULL, pool_entry_id = d.change_id, pool_since = %(now)s,
                       version = c.version + 1, updated_at = %(now)s
                  FROM kehu_due d
                 WHERE d.change_id IS NOT NULL AND c.id = d.id AND c.owner_id = d.owner_id
                   AND c.owner_since = d.owner_since AND c.deleted_at IS NULL
             RETURNING c.id, c.name, c.number, c.version, d.owner_id, d.team_id, d.reason,
                       d.change_id
            ), ledger AS (
                INSERT INTO customers_ownershipchange
                       (id, customer_id, kind, from_user_id, to_user_id, actor_id, at, reason,
                        release_reason_id, note)
                SELECT change_id, id, %(kind)s, owner_id, NULL, NULL, %(now)s, reason, NULL, ''
                  FROM moved
            ), audit AS (
                INSERT INTO crm_auditevent
                       (created_at, actor_id, actor_repr, action, target_type_id, target_id,
                        target_repr, changes, extra, ip_address)
                SELECT %(now)s, NULL, %(system)s, %(action)s, %(type)s, id::text,
                       left(name || ' (' || number || ')', 255),
                       jsonb_build_object('owner', jsonb_build_array(
                           %(who)s::jsonb ->> owner_id::text, NULL)),
                       jsonb_build_object('version', version, 'ownership', %(kind)s,
                                          'reason', reason, 'as_of', %(as_of)s::text),
                       NULL
                  FROM moved
            )
            SELECT id, owner_id, team_id, reason FROM moved ORDER BY id
            """,
            {
                "now": timezone.now(),
                "kind": OwnershipKind.RECYCLE,
                "system": SYSTEM,
                "action": AuditAction.UPDATE,
                "type": ContentType.objects.get_for_model(Customer).pk,
                "who": json.dumps(who),
                "as_of": as_of.isoformat(),
            },
        )
        moved = cursor.fetchall()
        cursor.execute("SELECT set_config('kehu.ownership', '', true)")
        return moved
