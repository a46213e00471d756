"""The side navigation. Each later issue adds its URL name here; an entry whose
URL is not installed yet, or that the user may not use, is simply not shown."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from django.urls import NoReverseMatch, resolve, reverse
from django.utils.functional import Promise
from django.utils.translation import pgettext_lazy


@dataclass(frozen=True)
class NavItem:
    label: Promise
    url_name: str
    icon: str
    permission: str | None = None
    staff_only: bool = False
    badge: str = ""  # "tasks": the count of the user's tasks due today or overdue


# The counts shown beside entries (NavItem.badge): the app that owns what is
# counted registers a queryset of it per user, and the permission to see it, in
# its AppConfig.ready(); the shell counts them all in one query.
_BADGES: dict[str, tuple[Callable, str]] = {}


def register_badge(key: str, rows: Callable, permission: str) -> None:
    """`rows(user)`: the queryset whose count the entry with `badge=key` shows."""
    _BADGES[key] = (rows, permission)


def badge_querysets(user) -> dict:
    return {
        key: rows(user) for key, (rows, permission) in _BADGES.items() if user.has_perm(permission)
    }


@dataclass(frozen=True)
class NavSection:
    label: Promise
    items: tuple[NavItem, ...]


NAVIGATION: tuple[NavSection, ...] = (
    NavSection(
        pgettext_lazy("nav section", "Work"),
        (
            NavItem(pgettext_lazy("nav", "Home"), "home", "house"),
            NavItem(
                pgettext_lazy("nav", "Tasks"),
                "interactions:task_list",
                "check2-square",
                permission="interactions.view_task",
                badge="tasks",
            ),
            NavItem(pgettext_lazy("nav", "Notifications"), "notification_list", "bell"),
        ),
    ),
    NavSection(
        pgettext_lazy("nav section", "Customers"),
        (
            NavItem(pgettext_lazy("nav", "Customers"), "customers:list", "people"),
            NavItem(pgettext_lazy("nav", "Customer pool"), "customers:pool", "inboxes"),
            NavItem(
                pgettext_lazy("nav", "Conflict check"),
                "customers:check",
                "search",
                permission="customers.add_customer",
            ),
            NavItem(pgettext_lazy("nav", "Segments"), "customers:segment_list", "diagram-3"),
        ),
    ),
    NavSection(
        pgettext_lazy("nav section", "Sales"),
        (
            NavItem(
                pgettext_lazy("nav", "Pipeline"),
                "sales:pipeline",
                "kanban",
                permission="sales.view_opportunity",
            ),
            NavItem(
                pgettext_lazy("nav", "Opportunities"),
                "sales:opportunity_list",
                "funnel",
                permission="sales.view_opportunity",
            ),
            NavItem(pgettext_lazy("nav", "Orders"), "sales:order_list", "receipt"),
            NavItem(pgettext_lazy("nav", "Contracts"), "sales:contract_list", "file-earmark-text"),
            NavItem(pgettext_lazy("nav", "Products"), "sales:product_list", "box-seam"),
            NavItem(
                pgettext_lazy("nav", "Competitors"),
                "sales:competitor_list",
                "shield-shaded",
                permission="sales.view_competitor",
            ),
        ),
    ),
    NavSection(
        pgettext_lazy("nav section", "Service"),
        (
            NavItem(pgettext_lazy("nav", "Interactions"), "interactions:list", "chat-dots"),
            NavItem(pgettext_lazy("nav", "Tickets"), "interactions:ticket_list", "life-preserver"),
            NavItem(pgettext_lazy("nav", "Feedback"), "feedback:list", "emoji-smile"),
            NavItem(
                pgettext_lazy("nav", "Surveys"),
                "feedback:survey_list",
                "ui-checks",
                permission="feedback.view_survey",
            ),
        ),
    ),
    NavSection(
        pgettext_lazy("nav section", "Insight"),
        (
            NavItem(pgettext_lazy("nav", "Dashboards"), "dashboard", "speedometer2"),
            NavItem(pgettext_lazy("nav", "Performance"), "sales:performance", "graph-up-arrow"),
            NavItem(
                pgettext_lazy("nav", "Satisfaction"),
                "feedback:analysis",
                "bar-chart-line",
                permission="feedback.view_feedback",
            ),
            NavItem(
                pgettext_lazy("nav", "Churn alerts"), "segmentation:churn", "person-exclamation"
            ),
            NavItem(pgettext_lazy("nav", "Data quality"), "customers:quality", "clipboard-check"),
            NavItem(
                pgettext_lazy("nav", "Duplicates"),
                "customers:duplicates",
                "intersect",
                permission="customers.merge_customers",
            ),
        ),
    ),
    NavSection(
        pgettext_lazy("nav section", "Organisation"),
        (
            NavItem(pgettext_lazy("nav", "People"), "person_list", "person-badge"),
            NavItem(
                pgettext_lazy("nav", "Audit log"),
                "audit_list",
                "journal-text",
                "crm.view_auditevent",
            ),
            NavItem(
                pgettext_lazy("nav", "Periodic jobs"),
                "job_runs",
                "clock-history",
                "crm.view_jobrun",
            ),
            NavItem(pgettext_lazy("nav", "Administration"), "admin:index", "gear", staff_only=True),
        ),
    ),
)


@cache
def _url(url_name: str) -> str | None:
    """The entry's URL, or None while its app has not installed it (URLs are fixed
    for the life of the process, so each name is resolved once)."""
    try:
        return reverse(url_name)
    except NoReverseMatch:
        return None


@cache
def _view_permissions(url_name: str) -> tuple[str, ...]:
    """The permissions the entry's own view requires (PermissionRequiredMixin), so
    the menu never offers a page that would answer 403."""
    url = _url(url_name)
    if url is None:
        return ()
    view = getattr(resolve(url).func, "view_class", None)
    required = getattr(view, "permission_required", None) or ()
    return (required,) if isinstance(required, str) else tuple(required)


def navigation_for(user, current_path: str) -> list[dict]:
    """The sections and entries the user may use; the entry whose URL is the
    longest prefix of the current path is the active one (/interactions/tickets/
    is Tickets, not also Interactions)."""
    sections = []
    for section in NAVIGATION:
        items = []
        for item in section.items:
            if item.staff_only and not user.is_staff:
                continue
            if item.permission and not user.has_perm(item.permission):
                continue
            if not user.has_perms(_view_permissions(item.url_name)):
                continue
            url = _url(item.url_name)
            if url is None:
                continue
            items.append(
                {
                    "label": item.label,
                    "url": url,
                    "icon": item.icon,
                    "active": False,
                    "badge": item.badge,
                }
            )
        if items:
            sections.append({"label": section.label, "items": items})
    matches = [
        entry
        for section in sections
        for entry in section["items"]
        if (
            current_path == entry["url"]
            if entry["url"] == "/"
            else current_path.startswith(entry["url"])
        )
    ]
    if matches:
        max(matches, key=lambda entry: len(entry["url"]))["active"] = True
    return sections
