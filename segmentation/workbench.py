"""Segmentation's block on the workbench (crm.workbench): the churn alerts."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import pgettext_lazy

from crm import roles
from crm.workbench import Block, Day, listed, register_block
from segmentation.models import ChurnEpisode

SELLERS = frozenset({roles.SALES_REP, roles.SALES_MANAGER})


def churn_alerts(day: Day) -> dict:
    """Open churn alerts on the user's own customers, the newest first."""
    episodes = (
        ChurnEpisode.objects.filter(
            ended_at__isnull=True, customer__owner=day.user, customer__deleted_at__isnull=True
        )
        .select_related("customer")
        .order_by("-started_on", "-id")
    )
    return listed(episodes, reverse("segmentation:churn"))


def register() -> None:
    register_block(
        Block(
            key="churn",
            title=pgettext_lazy("workbench", "Churn alerts on my customers"),
            icon="person-exclamation",
            template="workbench/_churn.html",
            load=churn_alerts,
            roles=SELLERS,
            permissions=("customers.view_customer",),
            order=40,
        )
    )
