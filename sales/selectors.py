"""Reads of sales data. Orders follow their customer's visibility
(`customers.selectors.customer_visibility_rule`); products are a shared catalogue."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from crm.access import register_scope
from crm.models import User
from customers.selectors import customer_visibility_rule
from sales.models import Order, OrderLine, Product


@register_scope(Order)
def visible_orders(user: User) -> QuerySet[Order]:
    """The orders of the live customers the user may see."""
    qs = Order.objects.filter(customer__deleted_at__isnull=True)
    if not (user.has_perm("sales.view_order") and user.has_perm("customers.view_customer")):
        return qs.none()
    rule = customer_visibility_rule(user, prefix="customer__")
    return qs if rule is None else qs.filter(rule)


@register_scope(Product)
def visible_products(user: User) -> QuerySet[Product]:
    if not user.has_perm("sales.view_product"):
        return Product.objects.none()
    return Product.objects.all()


def order_list(user: User) -> QuerySet[Order]:
    return visible_orders(user).select_related("customer", "salesperson")


def order_get(user: User, order_id: int) -> Order:
    """One order with its lines and refunds; Order.DoesNotExist outside the scope."""
    return (
        visible_orders(user)
        .select_related("customer", "salesperson", "team", "created_by")
        .prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.select_related("product")),
            "refunds__actor",
        )
        .get(pk=order_id)
    )


def products_for_orders(*, include: set[int] | frozenset[int] = frozenset()) -> QuerySet[Product]:
    """What an order line may offer: active products, plus those already on it."""
    from django.db.models import Q

    return Product.objects.filter(Q(is_active=True) | Q(pk__in=include)).order_by(
        "category", "name", "id"
    )
