"""Reads of segmentation's records. Churn alerts follow their customer's
visibility (`customers.selectors.visible_through_customer`)."""

from __future__ import annotations

from django.db.models import QuerySet

from crm.access import register_scope
from crm.models import User
from customers.selectors import visible_through_customer
from segmentation.models import ChurnEpisode, ChurnOutcome
from segmentation.outlook import customer_outlook


@register_scope(ChurnEpisode)
def visible_churn_episodes(user: User) -> QuerySet[ChurnEpisode]:
    """The churn alerts of the live customers the user sees."""
    return visible_through_customer(ChurnEpisode, user, permission="customers.view_customer")


def churn_shown(customer) -> ChurnEpisode | None:
    """The latest churn episode when it is open or ended as lost."""
    latest = customer.churn_episodes.select_related("ended_by", "task").first()
    if latest is not None and (latest.is_open or latest.outcome == ChurnOutcome.LOST):
        return latest
    return None


def customer_panel(request, profile) -> dict:
    """The customer page's buying outlook and churn alert (customers.panels), to
    who sees the customer's orders."""
    if not request.user.has_perm("sales.view_order"):
        return {"outlook": None, "churn": None}
    return {
        "outlook": customer_outlook(profile.metrics),
        "churn": churn_shown(profile.customer),
    }
