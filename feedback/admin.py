"""Feedback in Django admin: the categories are edited here; feedback itself is
read-only (it changes on its page, which audits it)."""

from __future__ import annotations

from django.contrib import admin

from crm.admin import AuditedAdminMixin
from customers.admin import ReadOnlyAdminMixin
from feedback.models import Coupon, Feedback, FeedbackCategory, PointsEntry


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
