"""Feedback in Django admin: the categories are edited here; feedback itself is
read-only (it changes on its page, which audits it)."""

from __future__ import annotations

from django.contrib import admin

from crm.admin import AuditedAdminMixin, ReadOnlyAdminMixin, SettingsRowAdminMixin
from feedback.models import (
    Coupon,
    Feedback,
    FeedbackCategory,
    LoyaltyRules,
    PointsEntry,
    Survey,
    SurveyInvitation,
)


@admin.register(FeedbackCategory)
class FeedbackCategoryAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("name_zh", "name_en", "position", "is_active")
    list_editable = ("position", "is_active")

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # feedback points at them: made inactive instead


@admin.register(Feedback)
class FeedbackAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "customer", "channel", "rating", "nps", "status")
    list_filter = ("status", "channel", "category")
    search_fields = ("customer__number",)
    list_select_related = ("customer",)
    raw_id_fields = ("customer", "order", "ticket")
    show_full_result_count = False


@admin.register(PointsEntry)
class PointsEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: the ledger changes on the customer's points page, which checks the
    balance and audits every line."""

    list_display = ("created_at", "customer", "kind", "points", "reason", "actor")
    list_filter = ("kind",)
    search_fields = ("customer__number",)
    list_select_related = ("customer", "actor")
    show_full_result_count = False


@admin.register(Coupon)
class CouponAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("code", "customer", "value", "percent", "reason", "valid_until", "redeemed_at")
    list_filter = ("reason",)
    search_fields = ("code", "customer__number")
    list_select_related = ("customer",)
    show_full_result_count = False


@admin.register(LoyaltyRules)
class LoyaltyRulesAdmin(SettingsRowAdminMixin, AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("__str__", "points_per_cny", "points_valid_months", "birthday_coupon_value",
                    "win_back_coupon_value", "coupon_valid_days")  # fmt: skip


@admin.register(Survey)
class SurveyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: surveys are written in the builder, which keeps answered
    questions intact and audits every change."""

    list_display = ("title_zh", "title_en", "status", "link_days", "points_bonus", "created_at")
    list_filter = ("status",)
    search_fields = ("title_zh", "title_en")


@admin.register(SurveyInvitation)
class SurveyInvitationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("survey", "customer", "created_at", "expires_at", "answered_at")
    list_filter = ("survey",)
    search_fields = ("customer__number",)
    list_select_related = ("survey", "customer")
    exclude = ("token",)  # a personal link: copied from the customer's page by who serves it
    show_full_result_count = False
