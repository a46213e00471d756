"""Sales in Django admin. Products are edited here or on the catalogue page, with
the same checks (the service's) and the audit; they are never deleted, only made
inactive, since orders point at them. Orders are read-only: they change through
the order pages, whose services keep totals, statuses and metrics right."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from crm.admin import AuditedAdminMixin
from customers.admin import ReadOnlyAdminMixin
from sales.models import Order, OrderLine, Product, Refund
from sales.services import product_values, sku_taken


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
            for field, errors in exc.error_dict.items():
                self.add_error(field if field in self.fields else None, errors)
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
