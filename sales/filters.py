from __future__ import annotations

import datetime

import django_filters
from django import forms
from django.db.models import DateField, ExpressionWrapper, F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.filters import OrderingFilter, StableOrderMixin
from customers.filters import DateRangeWidget, MonthInput, PeopleFilterMixin, month_bounds
from sales.models import (
    EXPIRED,
    EXPIRED_LABEL,
    OPEN_STAGES,
    Competitor,
    Contract,
    ContractKind,
    ContractStatus,
    Opportunity,
    Order,
    OrderStatus,
    Product,
    Stage,
)
from sales.selectors import visible_competitors


class OrderFilter(PeopleFilterMixin, StableOrderMixin, django_filters.FilterSet):
    default_ordering = ("-ordered_at",)

    q = django_filters.CharFilter(
        label=_("Order or customer number"), method="filter_q", max_length=64
    )
    salesperson = django_filters.ChoiceFilter(
        label=_("Salesperson"), method="filter_person", choices=()
    )
    status = django_filters.ChoiceFilter(label=_("Status"), choices=OrderStatus.choices)
    month = django_filters.CharFilter(
        label=_("Month"), method="filter_month", widget=MonthInput(attrs={"placeholder": "2026-11"})
    )
    ordered = django_filters.DateFromToRangeFilter(
        label=_("Order date"), field_name="ordered_at", widget=DateRangeWidget
    )
    customer = django_filters.NumberFilter(field_name="customer_id", widget=forms.HiddenInput)
    sort = OrderingFilter(
        label=_("Sort by"),
        fields=(("ordered_at", "date"), ("total", "total"), ("number", "number")),
        field_labels={
            "ordered_at": _("Order date"),
            "total": _("Total"),
            "number": _("Order number"),
        },
        empty_label=pgettext_lazy("sort", "Newest first"),
        null_label=None,
    )

    class Meta:
        model = Order
        fields = ["q", "salesperson", "status", "month", "ordered", "customer"]

    people = "salesperson"
    me_label = pgettext_lazy("salesperson filter", "Me")

    def filter_q(self, queryset, name, value):
        typed = value.strip()
        value = typed.upper()
        if not value:
            return queryset
        return queryset.filter(
            Q(number=value) | Q(external_number=typed) | Q(customer__number=value)
        )

    def filter_month(self, queryset, name, value):
        bounds = month_bounds(value)
        if bounds is None:
            return queryset.none()
        return queryset.filter(ordered_at__gte=bounds[0], ordered_at__lt=bounds[1])


class ProductFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("SKU or name"), method="filter_q", max_length=100)
    category = django_filters.ChoiceFilter(label=_("Category"), choices=())
    brand = django_filters.ChoiceFilter(label=_("Brand"), choices=())
    is_active = django_filters.BooleanFilter(
        label=pgettext_lazy("product", "Active"),
        widget=forms.Select(
            choices=(
                ("", _("Any")),
                ("true", pgettext_lazy("product", "Active")),
                ("false", pgettext_lazy("product", "Inactive")),
            )
        ),
    )

    class Meta:
        model = Product
        fields = ["q", "category", "brand", "is_active"]

    def __init__(self, data=None, *args, **kwargs):
        super().__init__(data, *args, **kwargs)
        for name in ("category", "brand"):
            values = (
                Product.objects.exclude(**{name: ""})
                .order_by(name)
                .values_list(name, flat=True)
                .distinct()
            )
            self.filters[name].extra["choices"] = [(v, v) for v in values]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(sku__iexact=value) | Q(name__icontains=value))


OPEN = "open"


class OpportunityFilter(PeopleFilterMixin, StableOrderMixin, django_filters.FilterSet):
    default_ordering = ("expected_close",)

    q = django_filters.CharFilter(
        label=_("Title or customer number"), method="filter_q", max_length=100
    )
    owner = django_filters.ChoiceFilter(label=_("Owner"), method="filter_person", choices=())
    stage = django_filters.ChoiceFilter(
        label=_("Stage"),
        method="filter_stage",
        choices=[(OPEN, pgettext_lazy("stages", "All open stages")), *Stage.choices],
    )
    close_month = django_filters.CharFilter(
        label=_("Expected to close in"),
        field_name="expected_close",
        method="filter_date_month",
        widget=MonthInput(attrs={"placeholder": "2026-11"}),
    )
    competitor = django_filters.ModelChoiceFilter(
        label=_("Competitor"), queryset=Competitor.objects.none()
    )
    customer = django_filters.NumberFilter(field_name="customer_id", widget=forms.HiddenInput)
    sort = OrderingFilter(
        label=_("Sort by"),
        fields=(("expected_close", "close"), ("amount", "amount"), ("created_at", "created")),
        field_labels={
            "expected_close": _("Expected close date"),
            "amount": _("Amount"),
            "created_at": _("Created"),
        },
        empty_label=pgettext_lazy("sort", "Closing soonest first"),
        null_label=None,
    )

    class Meta:
        model = Opportunity
        fields = ["q", "owner", "stage", "close_month", "competitor", "customer"]

    def __init__(self, data=None, *args, user, **kwargs):
        super().__init__(data, *args, user=user, **kwargs)
        self.filters["competitor"].queryset = visible_competitors(user)

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(title__icontains=value) | Q(customer__number=value.upper()))

    def filter_stage(self, queryset, name, value):
        if value == OPEN:
            return queryset.filter(stage__in=OPEN_STAGES)
        return queryset.filter(stage=value)


RENEWAL_DUE = "renewal_due"


class ContractFilter(PeopleFilterMixin, StableOrderMixin, django_filters.FilterSet):
    default_ordering = ("-start_date",)

    q = django_filters.CharFilter(
        label=_("Number, title or customer number"), method="filter_q", max_length=100
    )
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=ContractKind.choices)
    state = django_filters.ChoiceFilter(
        label=_("Status"),
        method="filter_state",
        choices=[
            *ContractStatus.choices,
            (EXPIRED, EXPIRED_LABEL),
            (RENEWAL_DUE, pgettext_lazy("contract status", "Renewal due")),
        ],
    )
    owner = django_filters.ChoiceFilter(label=_("Owner"), method="filter_person", choices=())
    ends = django_filters.CharFilter(
        label=_("Ends in"),
        field_name="end_date",
        method="filter_date_month",
        widget=MonthInput(attrs={"placeholder": "2026-11"}),
    )
    customer = django_filters.NumberFilter(field_name="customer_id", widget=forms.HiddenInput)
    sort = OrderingFilter(
        label=_("Sort by"),
        fields=(("start_date", "start"), ("end_date", "end"), ("amount", "amount")),
        field_labels={
            "start_date": _("Start date"),
            "end_date": _("End date"),
            "amount": _("Amount"),
        },
        empty_label=pgettext_lazy("sort", "Latest start first"),
        null_label=None,
    )

    class Meta:
        model = Contract
        fields = ["q", "kind", "state", "owner", "ends", "customer"]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(number=value.upper()) | Q(title__icontains=value) | Q(customer__number=value.upper())
        )

    def filter_state(self, queryset, name, value):
        today = timezone.localdate()
        active = Q(status=ContractStatus.ACTIVE)
        if value == EXPIRED:
            return queryset.filter(active, end_date__lt=today)
        if value == RENEWAL_DUE:
            due = ExpressionWrapper(
                F("end_date") - F("renewal_notice_days") * datetime.timedelta(days=1),
                output_field=DateField(),
            )
            return queryset.alias(due=due).filter(active, end_date__gte=today, due__lte=today)
        if value == ContractStatus.ACTIVE:
            return queryset.filter(active).filter(Q(end_date__isnull=True) | Q(end_date__gte=today))
        return queryset.filter(status=value)
