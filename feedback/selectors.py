"""Reads of feedback: it follows its customer's visibility
(`customers.selectors.customer_visibility_rule`)."""

from __future__ import annotations

from django.db.models import QuerySet

from crm.access import register_scope
from crm.models import User
from customers.selectors import customer_visibility_rule
from feedback.models import Feedback, FeedbackCategory


@register_scope(Feedback)
def visible_feedback(user: User) -> QuerySet[Feedback]:
    """The feedback of the live customers the user may see."""
    qs = Feedback.objects.filter(customer__deleted_at__isnull=True)
    if not (user.has_perm("feedback.view_feedback") and user.has_perm("customers.view_customer")):
        return qs.none()
    rule = customer_visibility_rule(user, prefix="customer__")
    return qs if rule is None else qs.filter(rule)


def feedback_list(user: User) -> QuerySet[Feedback]:
    return visible_feedback(user).select_related("customer", "category", "handled_by")


def feedback_get(user: User, feedback_id: int) -> Feedback:
    return (
        visible_feedback(user)
        .select_related("customer", "category", "order", "ticket", "handled_by", "created_by")
        .get(pk=feedback_id)
    )


def active_categories() -> QuerySet[FeedbackCategory]:
    return FeedbackCategory.objects.filter(is_active=True)


def loyalty_summary(customer, *, lines: int = 5, coupons: int = 10):
    """The 360° page's points balance, latest ledger lines and coupons."""
    from feedback.loyalty import points_balance
    from feedback.models import Coupon, PointsEntry

    return {
        "balance": points_balance(customer),
        "entries": list(
            PointsEntry.objects.filter(customer=customer).select_related("actor")[:lines]
        ),
        "coupons": list(Coupon.objects.filter(customer=customer)[:coupons]),
    }
