"""Who owns a customer (DESIGN §5): the one service that changes it.

Every change of owner comes through here: a rep's claim from the shared pool
(公海) and release to it, a manager's assignment and transfer (one customer or
many), a new customer's first owner (the form, an import with an owner), a merge
and the nightly recycle. Each applies the pool rules (`PoolRule`: a rep's cap,
the daily claim quota, the cool-down before a previous owner takes a customer
again), writes one ledger row (`OwnershipChange`) and one audit event per
customer, and keeps `owner_since`, from which the recycle clocks count. No other
code writes the owner column; a test reads the sources to hold that. The rules
in force and the checks live in `customers.pool_rules`; locking a customer
against recycling, which leaves the owner as it is, in `customers.pool_lock`.

Races: the customers are locked with SELECT … FOR UPDATE, and so is the row of
the person who receives them, so two claims of one customer end with one winner
and a rep's parallel claims are counted one after the other against the cap.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable, Sequence

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop, ngettext_lazy

from crm.audit import audit_record
from crm.models import AuditAction, User
from crm.services import lazy_format, notify
from customers.models import Customer, OwnershipChange, OwnershipKind, ReleaseReason
from customers.pool_rules import (
    RuleBook,
    _cap_error,
    _Holdings,
    _receive_check,
    _receiver_clean,
    receiver_lock,
)
from customers.selectors import editable_customers

# The actor name of the recycle job in the audit log.
SYSTEM = "kehu"
# The release reasons a new site starts with (editable in Django admin).
DEFAULT_RELEASE_REASONS = (
    gettext_noop("Not interested"),
    gettext_noop("Cannot be reached"),
    gettext_noop("Bought from a competitor"),
    gettext_noop("Not my region or line"),
    gettext_noop("Other"),
)


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
