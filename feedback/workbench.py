"""The feedback layer's block on the workbench (crm.workbench)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import pgettext_lazy

from crm import roles
from crm.workbench import Block, Day, listed, register_block
from feedback.selectors import UNHAPPY_UNANSWERED, visible_feedback


def unhappy_feedback(day: Day) -> dict:
    """Unhappy feedback nobody has answered yet, the oldest first."""
    waiting = (
        visible_feedback(day.user)
        .filter(UNHAPPY_UNANSWERED)
        .select_related("customer")
        .order_by("created_at", "id")
    )
    return listed(waiting, reverse("feedback:list") + "?detractors=on")


def register() -> None:
    register_block(
        Block(
            key="unhappy",
            title=pgettext_lazy("workbench", "Unhappy feedback without a response"),
            icon="emoji-frown",
            template="workbench/_feedback.html",
            load=unhappy_feedback,
            roles=frozenset({roles.SERVICE_AGENT, roles.SALES_MANAGER}),
            permissions=("feedback.view_feedback",),
            order=32,
        )
    )
