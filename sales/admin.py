"""Sales in Django admin. Products are edited here or on the catalogue page, with
the same checks (the service's) and the audit; they are never deleted, only made
inactive, since orders point at them. Orders are read-only: they change through
the order pages, whose services keep totals, statuses and metrics right."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from crm.admin import AuditedAdminMixin, ReadOnlyAdminMixin
from sales.forms import service_errors
from sales.models import (
    Competitor,
    Contract,
    Opportunity,
    OpportunityStageChange,
    Order,
    OrderLine,
    Product,
    Refund,
    SalesTarget,
    StageSetting,
)
from sales.services.products import product_values, sku_taken


class ProductAdminForm(forms.ModelForm):
    list_price = forms.CharField(max_length=30)

    class Meta:
        model = Product
        fields = (
            "sku", "name", "category", "brand", "variant", "unit", "list_price", "currency",
            "is_active", "is_placeholder", "description",
        )  # fmt: skip

    def clean(self):
        data = super().clean()
        try:
            values = product_values(data)
        except ValidationError as exc:
            service_errors(self, exc)
            return data
        clash = Product.objects.filter(sku__iexact=values["sku"]).exclude(pk=self.instance.pk)
        if clash.exists():
            self.add_error(None, sku_taken(values["sku"]))
        data.update(values)
        return data


@admin.register(Product)
class ProductAdmin(AuditedAdminMixin, admin.ModelAdmin):
    form = ProductAdminForm
    list_display = ("sku", "name", "category", "brand", "list_price", "currency", "is_active")
    list_filter = ("is_active", "is_placeholder", "category", "currency")
    search_fields = ("sku", "name", "brand")
    ordering = ("category", "name")

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class OrderLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = OrderLine
    fields = ("product", "description", "quantity", "unit_price", "discount_percent", "line_total")
    readonly_fields = fields
    extra = 0


class RefundInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Refund
    fields = ("amount", "reason", "refunded_at", "actor")
    readonly_fields = fields
    extra = 0


@admin.register(Order)
class OrderAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "number",
        "customer",
        "salesperson",
        "ordered_at",
        "status",
        "total",
        "currency",
    )
    list_filter = ("status", "currency", "source")
    search_fields = ("number", "customer__number")
    date_hierarchy = "ordered_at"
    list_select_related = ("customer", "salesperson")
    show_full_result_count = False  # no COUNT(*) over millions of orders
    raw_id_fields = ("customer",)
    inlines = (OrderLineInline, RefundInline)


@admin.register(StageSetting)
class StageSettingAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """The probability each stage gives an opportunity entering it."""

    list_display = ("stage", "probability")
    list_editable = ("probability",)
    fields = ("stage", "probability")
    readonly_fields = ("stage",)

    def has_add_permission(self, request) -> bool:
        return False  # one row per stage, written by a migration

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Competitor)
class CompetitorAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "price_position", "is_active")
    list_filter = ("is_active", "price_position")
    search_fields = ("name",)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # opportunities point at them: made inactive instead


class StageChangeInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = OpportunityStageChange
    fields = ("from_stage", "to_stage", "probability", "amount", "changed_at", "actor")
    readonly_fields = fields
    extra = 0


@admin.register(Opportunity)
class OpportunityAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: stages move on the opportunity's page, which keeps the history."""

    list_display = ("title", "customer", "owner", "stage", "amount", "expected_close")
    list_filter = ("stage", "lost_reason")
    search_fields = ("title", "customer__number")
    list_select_related = ("customer", "owner")
    raw_id_fields = ("customer", "order")
    show_full_result_count = False
    inlines = (StageChangeInline,)


@admin.register(Contract)
class ContractAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: contracts change on their pages, which check the signed file."""

    list_display = ("number", "title", "customer", "kind", "status", "start_date", "end_date")
    list_filter = ("kind", "status")
    search_fields = ("number", "title", "customer__number")
    list_select_related = ("customer",)
    raw_id_fields = ("customer", "opportunity")
    exclude = ("signed_file",)  # downloaded from the contract's page, where it is audited


@admin.register(SalesTarget)
class SalesTargetAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: targets are set on the targets page, by the teams' managers."""

    list_display = ("month", "user", "team", "revenue", "updated_by", "updated_at")
    list_filter = ("month", "team")
    list_select_related = ("user", "team", "updated_by")
