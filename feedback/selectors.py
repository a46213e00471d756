"""Reads of feedback: it follows its customer's visibility
(`customers.selectors.visible_through_customer`)."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from crm.access import register_scope
from crm.models import User
from customers.selectors import visible_through_customer
from feedback.loyalty import points_balance
from feedback.models import (
    Coupon,
    Feedback,
    FeedbackCategory,
    PointsEntry,
    Survey,
    SurveyInvitation,
    SurveyStatus,
)

# Unhappy (as Feedback.is_negative: an NPS of 0–6, or a rating of 1–2 without an
# NPS) and not answered yet: the feedback list's filter and the workbench's block.
UNHAPPY_UNANSWERED = (Q(nps__lte=6) | Q(nps__isnull=True, rating__lte=2)) & Q(response="")


@register_scope(Feedback)
def visible_feedback(user: User) -> QuerySet[Feedback]:
    """The feedback of the live customers the user may see."""
    return visible_through_customer(Feedback, user)


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

    return {
        "balance": points_balance(customer),
        "entries": list(
            PointsEntry.objects.filter(customer=customer).select_related(
                "actor", "order", "invitation__survey"
            )[:lines]
        ),
        "coupons": list(
            Coupon.objects.filter(customer=customer).select_related("redeemed_order")[:coupons]
        ),
    }


@register_scope(SurveyInvitation)
def visible_invitations(user: User) -> QuerySet[SurveyInvitation]:
    """Survey invitations follow their customer."""
    return visible_through_customer(SurveyInvitation, user)


@register_scope(PointsEntry)
def visible_points(user: User) -> QuerySet[PointsEntry]:
    """Loyalty points follow their customer."""
    return visible_through_customer(PointsEntry, user)


@register_scope(Coupon)
def visible_coupons(user: User) -> QuerySet[Coupon]:
    """Coupons follow their customer."""
    return visible_through_customer(Coupon, user)


def visible_surveys(user: User) -> QuerySet[Survey]:
    """Surveys are the company's: whoever may see them sees them all (their
    answers are another matter: `visible_invitations`)."""
    if not user.has_perm("feedback.view_survey"):
        return Survey.objects.none()
    return Survey.objects.select_related("category", "created_by")


def open_surveys() -> QuerySet[Survey]:
    return Survey.objects.filter(status=SurveyStatus.OPEN).order_by("-created_at", "-id")


def customer_invitations(user: User, customer, *, limit: int = 5) -> list[SurveyInvitation]:
    """The latest invitations of a customer the user sees (the 360° page read
    it through the scope already, so its invitations need no second check)."""
    if not user.has_perm("feedback.view_surveyinvitation"):
        return []
    return list(
        SurveyInvitation.objects.filter(customer=customer)
        .select_related("survey")
        .order_by("-created_at", "-id")[:limit]
    )


def customer_panel(request, profile) -> dict:
    """The customer page's loyalty points and survey invitations (customers.panels),
    to who may see them."""
    user, customer = request.user, profile.customer
    return {
        "loyalty": (
            loyalty_summary(customer, lines=0, coupons=5)
            if user.has_perm("feedback.view_pointsentry")
            else None
        ),
        "invitations": (
            customer_invitations(user, customer)
            if user.has_perm("feedback.view_surveyinvitation")
            else None
        ),
    }
