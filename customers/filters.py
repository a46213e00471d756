from __future__ import annotations

import datetime
from collections.abc import Callable

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.filters import OrderingFilter, StableOrderMixin
from crm.models import Team
from crm.selectors import visible_teams
from customers.address import provinces
from customers.models import (
    Customer,
    CustomerKind,
    FrequencyTier,
    RfmSegment,
    Stage,
    Tag,
    ValueTier,
)
from customers.quality import FAIR, GOOD
from customers.selectors import assignable_owners, customers_matching
from customers.sources import source_labels

MINE = "me"
MAX_DAYS = 36_500  # a hundred years: any longer is a typing slip
POOL = "pool"


class DateRangeWidget(django_filters.widgets.DateRangeWidget):
    def __init__(self, attrs=None):
        super().__init__(attrs={"type": "date", **(attrs or {})})


SEARCH_DEFAULT_SORT = "-added"


class MonthInput(forms.DateInput):
    input_type = "month"


def month_bounds(value: str) -> tuple[datetime.datetime, datetime.datetime] | None:
    """The first moment of a month ('2026-11') and of the next, in local time."""
    zone = timezone.get_current_timezone()
    try:
        year, month = (int(part) for part in value.strip().split("-"))
        start = datetime.datetime(year, month, 1, tzinfo=zone)
    except (ValueError, AttributeError, OverflowError):
        return None
    if not 1990 <= year <= 2100:  # and 9999-12 has no month after it
        return None
    following = (start.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
    return start, following


class PeopleFilterMixin:
    """Filter sets of records that follow a customer (orders, opportunities,
    interactions, tickets…) narrowing to a person ("me" or a colleague the user
    may assign to) and to the month of a date field. `people` names the person filter;
    filter methods get the model field as `name`."""

    people = "owner"
    me_label = pgettext_lazy("owner filter", "Me")

    def __init__(self, data=None, *args, user, **kwargs):
        super().__init__(data, *args, **kwargs)
        self.user = user
        self.filters[self.people].extra["choices"] = [
            (MINE, self.me_label),
            *((str(u.pk), str(u)) for u in assignable_owners(user) if u.pk != user.pk),
        ]

    def filter_person(self, queryset, name, value):
        if value == MINE:
            return queryset.filter(**{name: self.user})
        return queryset.filter(**{f"{name}_id": value})

    def filter_date_month(self, queryset, name, value):
        bounds = month_bounds(value)
        if bounds is None:
            return queryset.none()
        start, end = (moment.date() for moment in bounds)
        return queryset.filter(**{f"{name}__gte": start, f"{name}__lt": end})


# The list's purchase facts (bought a product or in a category, in a period,
# spent at least) are answered by the app that records orders, registered in its
# AppConfig.ready(): `categories()` the product categories to choose from, and
# `buyers(product=, category=, start=, stop=, spent=)` the ids of the customers
# whose purchases match (a values("customer_id") queryset).
_PURCHASES: dict[str, Callable] = {}


def register_purchases(*, categories: Callable[[], list[str]], buyers: Callable) -> None:
    _PURCHASES.update(categories=categories, buyers=buyers)


def _categories() -> list[tuple[str, str]]:
    categories = _PURCHASES.get("categories")
    return [(name, name) for name in categories()] if categories else []


def _days_back(days) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=int(days))


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time()))


def range_day(moment) -> datetime.date | None:
    """A range end as a local day (django-filter gives the day's first or last moment)."""
    if isinstance(moment, datetime.datetime):
        return (timezone.localtime(moment) if timezone.is_aware(moment) else moment).date()
    return moment


def _purchased(queryset, data: dict):
    """Customers with purchases of the product or category, in the period,
    together worth at least the amount; with none of these given, the queryset
    as it is. The amount alone is the customer's total spent (its figures)."""
    product, category = (data.get("bought_product") or "").strip(), data.get("bought_category")
    period, spent = data.get("bought"), data.get("spent_min")
    start, stop = (range_day(period.start), range_day(period.stop)) if period else (None, None)
    if not (product or category or start or stop or spent is not None):
        return queryset
    if spent is not None and not (product or category or start or stop):
        return queryset.filter(metrics__total_spent__gte=spent)
    buyers = _PURCHASES.get("buyers")
    if buyers is None:  # nothing records purchases: nobody bought
        return queryset.none()
    return queryset.filter(
        pk__in=buyers(product=product, category=category, start=start, stop=stop, spent=spent)
    )


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
    source = django_filters.ChoiceFilter(label=_("Source channel"), choices=())
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
    # Facts for segments (docs/segmentation.md): the model, purchases, contact.
    churn_min = django_filters.NumberFilter(
        label=_("Churn probability at least (%)"),
        method="filter_churn_min",
        min_value=0,
        max_value=100,
    )
    bought_product = django_filters.CharFilter(
        label=_("Bought product (SKU or name)"), method="filter_purchases"
    )
    bought_category = django_filters.ChoiceFilter(
        label=_("Bought in category"), method="filter_purchases", choices=()
    )
    bought = django_filters.DateFromToRangeFilter(
        label=_("Bought in period"), method="filter_purchases", widget=DateRangeWidget
    )
    spent_min = django_filters.NumberFilter(
        label=_("Spent at least (CNY)"),
        method="filter_purchases",
        min_value=0,
        help_text=_("On the orders that match the product, category and period; else in all."),
    )
    contacted_within = django_filters.NumberFilter(
        label=_("Contacted in the last days"),
        method="filter_contacted_within",
        min_value=1,
        max_value=MAX_DAYS,
    )
    not_contacted_for = django_filters.NumberFilter(
        label=_("No contact for days"),
        method="filter_not_contacted_for",
        min_value=1,
        max_value=MAX_DAYS,
    )
    sort = OrderingFilter(
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
        },
        empty_label=pgettext_lazy("sort", "Default order"),
        null_label=None,
    )

    class Meta:
        model = Customer
        fields = ["q", "owner", "team", "stage", "kind", "tags", "source", "province", "city"]

    def __init__(self, data=None, *args, user, **kwargs):
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
        self.filters["bought_category"].extra["choices"] = _categories()
        # Retired channels too: their customers are still there to be found.
        self.filters["source"].extra["choices"] = list(source_labels().items())

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        return _purchased(queryset, self.form.cleaned_data)

    def filter_purchases(self, queryset, name, value):
        return queryset  # the four purchase facts go together (_purchased)

    def filter_churn_min(self, queryset, name, value):
        return queryset.filter(metrics__p_alive__lte=1 - value / 100)

    def filter_contacted_within(self, queryset, name, value):
        return queryset.filter(metrics__last_contact_at__gte=_days_back(value))

    def filter_not_contacted_for(self, queryset, name, value):
        return queryset.filter(
            Q(metrics__isnull=True)
            | Q(metrics__last_contact_at__isnull=True)
            | Q(metrics__last_contact_at__lt=_days_back(value))
        )

    def filter_quality(self, queryset, name, value):
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


class PoolFilter(StableOrderMixin, django_filters.FilterSet):
    """The shared pool page: who may claim what, newest in the pool first. Works on
    `customers.selectors.pool_customers` (its `entered_at`)."""

    RELEASE, RECYCLE, NEW = "release", "recycle", "new"
    default_ordering = ("-entered_at",)

    q = django_filters.CharFilter(label=_("Search"), method="filter_q")
    is_key_account = django_filters.BooleanFilter(
        label=_("Key account"),
        widget=forms.Select(
            choices=(("", _("Any")), ("true", _("Key accounts")), ("false", _("Others")))
        ),
    )
    province = django_filters.ChoiceFilter(label=_("Province"), choices=())
    kind = django_filters.ChoiceFilter(
        label=pgettext_lazy("pool", "How it came to the pool"),
        method="filter_kind",
        empty_label=_("Any"),
        choices=(
            (RELEASE, pgettext_lazy("pool entry", "Released by its owner")),
            (RECYCLE, pgettext_lazy("pool entry", "Returned under the pool rules")),
            (NEW, pgettext_lazy("pool entry", "New, never owned")),
        ),
    )
    entered_since = django_filters.DateFilter(
        label=pgettext_lazy("pool", "In the pool since"),
        method="filter_entered_since",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    previous = django_filters.ChoiceFilter(
        label=pgettext_lazy("pool", "Previous owner"),
        method="filter_previous",
        choices=((MINE, pgettext_lazy("pool", "Customers I held before")),),
        empty_label=pgettext_lazy("pool previous owner", "Anyone"),
    )
    sort = OrderingFilter(
        label=_("Sort by"),
        fields=(("entered_at", "entered"), ("name_pinyin", "name")),
        field_labels={
            "entered_at": pgettext_lazy("pool", "In the pool since"),
            "name_pinyin": _("Name"),
        },
        empty_label=pgettext_lazy("pool sort", "Newest in the pool first"),
        null_label=None,
    )

    class Meta:
        model = Customer
        fields = ["q", "is_key_account", "province"]

    def __init__(self, data=None, *args, user, **kwargs):
        super().__init__(data, *args, **kwargs)
        self.user = user
        self.filters["province"].extra["choices"] = [(p, p) for p in provinces()]

    def filter_q(self, queryset, name, value):
        return customers_matching(queryset, value)

    def filter_kind(self, queryset, name, value):
        if value == self.NEW:
            return queryset.filter(pool_entry__isnull=True)
        return queryset.filter(pool_entry__kind=value)

    def filter_entered_since(self, queryset, name, value):
        return queryset.filter(entered_at__gte=_day_start(value))

    def filter_previous(self, queryset, name, value):
        return queryset.filter(pool_entry__from_user=self.user)
