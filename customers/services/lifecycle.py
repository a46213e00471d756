"""Deleting a customer and restoring it: a delete only marks the record (its rows
stay, out of every list), and a data steward restores it unless its credit code
has been taken by another customer since. Both bump the version and are
audited."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.audit import audit_record
from crm.models import AuditAction, User
from customers.models import Customer
from customers.services.records import _check_uscc_free, locked_editable


@transaction.atomic
def customer_delete(*, actor: User, customer_id: int, request=None) -> Customer:
    customer = locked_editable(actor, customer_id)
    if not actor.has_perm("customers.delete_customer"):
        raise ValidationError(_("You may not delete customers."), code="forbidden")
    customer.deleted_at, customer.deleted_by = timezone.now(), actor
    customer.version += 1
    customer.save(update_fields=["deleted_at", "deleted_by", "version"])
    audit_record(
        actor=actor,
        action=AuditAction.DELETE,
        target=customer,
        changes={"deleted_at": (None, customer.deleted_at)},
        extra={"version": customer.version},
        request=request,
    )
    return customer


@transaction.atomic
def customer_restore(*, actor: User, customer_id: int, request=None) -> Customer:
    if not actor.has_perm("customers.restore_customer"):
        raise ValidationError(_("Only data stewards restore customers."), code="forbidden")
    customer = Customer.objects.deleted().select_for_update().filter(pk=customer_id).first()
    if customer is None:
        raise ValidationError(_("This customer is not deleted."), code="not_deleted")
    _check_uscc_free(customer.uscc, customer.pk)
    deleted_at = customer.deleted_at
    customer.deleted_at, customer.deleted_by = None, None
    customer.version += 1
    customer.save(update_fields=["deleted_at", "deleted_by", "version"])
    audit_record(
        actor=actor,
        action=AuditAction.RESTORE,
        target=customer,
        changes={"deleted_at": (deleted_at, None)},
        extra={"version": customer.version},
        request=request,
    )
    return customer
