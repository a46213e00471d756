"""The customer page's service side (customers.panels): the timeline, open tasks
and tickets, and the form to log an interaction for those who serve the
customer."""

from __future__ import annotations

from interactions.forms import InteractionForm
from interactions.selectors import customer_service, serves


def customer_panel(request, profile) -> dict:
    user, customer = request.user, profile.customer
    can_serve = serves(user, profile.access)
    can_log = can_serve and user.has_perm("interactions.add_interaction")
    return {
        "service": customer_service(user, customer, kind=request.GET.get("kind", "")),
        "can_log": can_log,
        "can_serve": can_serve,
        "interaction_form": InteractionForm(customer=customer) if can_log else None,
    }
