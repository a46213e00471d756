"""Who may change a customer's record: a sales row (an order, an opportunity, a
contract…) is locked for the write only when the actor holds the permission and
may work on the row's customer; otherwise the write is refused with the
caller's message, the same whether the row is missing or someone else's."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from crm.models import User
from customers.selectors import editable_customers


def customer_object_locked(queryset, actor: User, pk: int, permission: str, refusal: str):
    """The row (an order, opportunity, contract…), locked, if the actor has
    `permission` and may work on its customer; ValidationError(refusal) otherwise."""
    row = queryset.select_for_update(of=("self",)).select_related("customer").filter(pk=pk).first()
    if (
        row is None
        or not actor.has_perm(permission)
        or not editable_customers(actor).filter(pk=row.customer_id).exists()
    ):
        raise ValidationError(refusal, code="forbidden")
    return row
