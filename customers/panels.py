"""The customer page's panels from the apps above customers.

The page (customers.views.profile.CustomerDetailView) reads the customer record itself
(`customers.selectors.customer_360`); what other apps show on it (the service
history, loyalty points, surveys, the buying outlook and churn alert) comes from
the loaders they register here in their AppConfig.ready(). A loader is called
with the request and the customer's page data and returns template context; it
reads a fixed number of queries and leaves out what the user may not see.
"""

from __future__ import annotations

from collections.abc import Callable

_PANELS: list[Callable] = []


def register_panel(load: Callable) -> None:
    """`load(request, profile) -> dict`: context for the customer page."""
    if load not in _PANELS:
        _PANELS.append(load)


def panels_context(request, profile) -> dict:
    context: dict = {}
    for load in _PANELS:
        context.update(load(request, profile))
    return context
