from __future__ import annotations

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.filters import StableOrderMixin
from crm.models import Team, User
from crm.selectors import visible_teams
from customers.filters import DateRangeWidget
from feedback.models import Feedback, FeedbackCategory, FeedbackChannel, FeedbackStatus
from feedback.selectors import UNHAPPY_UNANSWERED
from interactions.selectors import task_people
from sales.models import OrderLine, Product


class FeedbackFilter(StableOrderMixin, django_filters.FilterSet):
    """The inbox: newest first; "detractors without a response" for follow-up."""

    default_ordering = ("-created_at",)

    q = django_filters.CharFilter(label=_("Text"), method="filter_q", max_length=100)
    status = django_filters.ChoiceFilter(label=_("Status"), choices=FeedbackStatus.choices)
    channel = django_filters.ChoiceFilter(label=_("Channel"), choices=FeedbackChannel.choices)
    category = django_filters.ModelChoiceFilter(
        label=_("Category"), queryset=FeedbackCategory.objects.all()
    )
    detractors = django_filters.BooleanFilter(
        label=_("Unhappy customers without a response"),
        method="filter_detractors",
        widget=forms.CheckboxInput,
    )
    received = django_filters.DateFromToRangeFilter(
        label=pgettext_lazy("feedback", "Received"), field_name="created_at",
        widget=DateRangeWidget,
    )  # fmt: skip
    team = django_filters.ModelChoiceFilter(
        label=_("Team"), field_name="customer__team", queryset=Team.objects.none()
    )
    owner = django_filters.ModelChoiceFilter(
        label=_("Rep"), field_name="customer__owner", queryset=User.objects.none()
    )
    product = django_filters.ModelChoiceFilter(
        label=_("Product"), method="filter_product", queryset=Product.objects.none()
    )
    customer = django_filters.NumberFilter(field_name="customer_id", widget=forms.HiddenInput)

    class Meta:
        model = Feedback
        fields = [
            "q", "status", "channel", "category", "detractors", "received", "team", "owner",
            "product", "customer",
        ]  # fmt: skip

    def __init__(self, data=None, *args, user=None, **kwargs):
        super().__init__(data, *args, **kwargs)
        self.user = user
        if user is not None:
            self.filters["team"].queryset = visible_teams(user)
            self.filters["owner"].queryset = task_people(user)
            self.filters["product"].queryset = Product.objects.filter(is_active=True).order_by(
                "name"
            )

    def filter_product(self, queryset, name, value):
        """Feedback about an order with this product on it."""
        if not value:
            return queryset
        return queryset.filter(order__in=OrderLine.objects.filter(product=value).values("order_id"))

    def filter_q(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(text__icontains=value) if value else queryset

    def filter_detractors(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(UNHAPPY_UNANSWERED)
