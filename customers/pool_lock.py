"""Locking a customer against the pool's recycling (DESIGN §5): the owner locks
their own, a manager those they manage, and each owner may have only so many
locked (`max_locked` of the pool rules in force). The owner does not change;
the lock is dropped whenever it does (customers.ownership)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.audit import audit_record
from crm.models import AuditAction, User
from customers.models import Customer
from customers.pool_rules import RuleBook, receiver_lock
from customers.selectors import editable_customers


@transaction.atomic
def customer_lock(*, actor: User, customer_id: int, locked: bool = True, request=None) -> Customer:
    """Lock a customer against recycling (or unlock it). The owner locks their own,
    a manager those they manage; each owner may have only so many locked."""

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
