from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.filters import StableOrderMixin
from crm.models import Team
from customers.address import provinces
from customers.models import (
    Customer,
    CustomerKind,
    FrequencyTier,
    RfmSegment,
    Source,
    Stage,
    Tag,
    ValueTier,
)
from customers.selectors import customers_matching

MINE = "me"
POOL = "pool"


class DateRangeWidget(django_filters.widgets.DateRangeWidget):
    def __init__(self, attrs=None):
        super().__init__(attrs={"type": "date", **(attrs or {})})


SEARCH_DEFAULT_SORT = "-added"


class CustomerFilter(StableOrderMixin, django_filters.FilterSet):
    default_ordering = ("name_pinyin",)

    q = django_filters.CharFilter(label=_("Search"), method="filter_q")
    owner = django_filters.ChoiceFilter(label=_("Owner"), method="filter_owner", choices=())
    team = django_filters.ModelChoiceFilter(label=_("Team"), queryset=Team.objects.none())
    stage = django_filters.ChoiceFilter(label=_("Stage"), choices=Stage.choices)
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=CustomerKind.choices)
    tags = django_filters.ModelMultipleChoiceFilter(
        label=_("Tags"), queryset=Tag.objects.all(), widget=forms.SelectMultiple
    )
    source = django_filters.ChoiceFilter(label=_("Source channel"), choices=Source.choices)
    province = django_filters.ChoiceFilter(label=_("Province"), choices=())
    city = django_filters.CharFilter(label=_("City"))
    is_key_account = django_filters.BooleanFilter(
        label=_("Key account"),
        widget=forms.Select(
            choices=(("", _("Any")), ("true", _("Key accounts")), ("false", _("Others")))
        ),
    )
    created = django_filters.DateFromToRangeFilter(
        label=_("Created"), field_name="created_at", widget=DateRangeWidget
    )
    verified = django_filters.DateFromToRangeFilter(
        label=_("Last verified"), field_name="verified_at", widget=DateRangeWidget
    )
    quality = django_filters.ChoiceFilter(
        label=_("Data quality"),
        method="filter_quality",
        choices=(
            ("good", _("Good (80 and above)")),
            ("fair", _("Fair (50–79)")),
            ("poor", _("Poor (below 50)")),
        ),
    )
    rfm_segment = django_filters.ChoiceFilter(
        label=_("RFM segment"), field_name="metrics__rfm_segment", choices=RfmSegment.choices
    )
    value_tier = django_filters.ChoiceFilter(
        label=_("Value tier"), field_name="metrics__value_tier", choices=ValueTier.choices
    )
    frequency_tier = django_filters.ChoiceFilter(
        label=_("Frequency tier"), method="filter_frequency_tier", choices=FrequencyTier.choices
    )
    next_purchase = django_filters.ChoiceFilter(
        label=_("Expected to buy"),
        method="filter_next_purchase",
        choices=(
            ("week", _("This week")),
            ("30d", _("In the next 30 days")),
            ("overdue", _("Overdue")),
        ),
    )
    sort = django_filters.OrderingFilter(
        label=_("Sort by"),
        fields=(
            ("name_pinyin", "name"),
            ("number", "number"),
            ("created_at", "created"),
            ("updated_at", "updated"),
            ("verified_at", "verified"),
            ("id", "added"),
            ("quality", "quality"),
            ("metrics__next_purchase_on", "next_purchase"),
            ("metrics__expected_value_12m", "expected_value"),
        ),
        field_labels={
            "name_pinyin": _("Name"),
            "number": _("Customer number"),
            "created_at": _("Created"),
            "updated_at": _("Last change"),
            "verified_at": _("Last verified"),
            "id": _("Added to Kehu"),
            "quality": _("Data quality"),
            "metrics__next_purchase_on": _("Next purchase"),
            "metrics__expected_value_12m": _("Expected value 12m"),
        },
        empty_label=pgettext_lazy("sort", "Default order"),
        null_label=None,
    )

    class Meta:
        model = Customer
        fields = ["q", "owner", "team", "stage", "kind", "tags", "source", "province", "city"]

    def __init__(self, data=None, *args, user, **kwargs):
        from crm.selectors import visible_teams
        from customers.selectors import assignable_owners

        if data is not None and data.get("q", "").strip() and not data.get("sort"):
            # Search results come newest first unless the user sorts: walking the
            # name order would cross every customer whose pinyin sorts before the
            # hits (all of 王 sits at "wang"), which is slow at a million rows. By
            # id, not created_at: ids follow the table's physical order, so the
            # backward walk reads neighbouring pages (bench/README.md).
            data = data.copy()
            data["sort"] = SEARCH_DEFAULT_SORT
        super().__init__(data, *args, **kwargs)
        self.user = user
        self.filters["owner"].extra["choices"] = [
            (MINE, pgettext_lazy("owner filter", "Mine")),
            (POOL, pgettext_lazy("owner filter", "Shared pool")),
            *((str(u.pk), str(u)) for u in assignable_owners(user)),
        ]
        self.filters["team"].queryset = visible_teams(user)
        self.filters["province"].extra["choices"] = [(p, p) for p in provinces()]

    def filter_quality(self, queryset, name, value):
        from customers.quality import FAIR, GOOD

        bands = {"good": Q(quality__gte=GOOD), "fair": Q(quality__gte=FAIR, quality__lt=GOOD)}
        return queryset.filter(bands.get(value, Q(quality__lt=FAIR)))

    def filter_frequency_tier(self, queryset, name, value):
        if value == FrequencyTier.NONE:  # no metrics row: never bought
            return queryset.filter(
                Q(metrics__isnull=True) | Q(metrics__frequency_tier=FrequencyTier.NONE)
            )
        return queryset.filter(metrics__frequency_tier=value)

    def filter_next_purchase(self, queryset, name, value):
        """Customers whose next purchase is expected this (Monday-to-Sunday) week,
        within 30 days from today, or already past."""
        import datetime

        from django.utils import timezone

        today = timezone.localdate()
        if value == "week":
            monday = today - datetime.timedelta(days=today.weekday())
            window = (max(today, monday), monday + datetime.timedelta(days=6))
            return queryset.filter(metrics__next_purchase_on__range=window)
        if value == "30d":
            window = (today, today + datetime.timedelta(days=30))
            return queryset.filter(metrics__next_purchase_on__range=window)
        return queryset.filter(
            metrics__next_purchase_on__lt=today,
            stage__in=(Stage.ACTIVE, Stage.AT_RISK),
        )

    def filter_q(self, queryset, name, value):
        return customers_matching(queryset, value)

    def filter_owner(self, queryset, name, value):
        if value == MINE:
            return queryset.filter(owner=self.user)
        if value == POOL:
            return queryset.filter(owner__isnull=True)
        return queryset.filter(owner_id=value)
