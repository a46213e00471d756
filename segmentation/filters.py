"""The churn alerts page's filters."""

from __future__ import annotations

import django_filters
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.filters import OrderingFilter, StableOrderMixin
from crm.models import Team
from crm.selectors import visible_teams
from customers.models import Stage
from segmentation.models import ChurnEpisode, ChurnOutcome


class ChurnFilter(StableOrderMixin, django_filters.FilterSet):
    """The churn alerts page: open alerts by default, the most valuable first."""

    OPEN = "open"
    state = django_filters.ChoiceFilter(
        label=_("Alerts"), method="filter_state", empty_label=_("All"),
        choices=[(OPEN, pgettext_lazy("churn alerts", "Open")), *ChurnOutcome.choices],
    )  # fmt: skip
    lifecycle = django_filters.ChoiceFilter(
        label=_("Stage when alerted"), choices=[(Stage.AT_RISK, Stage.AT_RISK.label),
                                                (Stage.CHURNED, Stage.CHURNED.label)],
    )  # fmt: skip
    team = django_filters.ModelChoiceFilter(
        label=_("Team"), field_name="customer__team", queryset=Team.objects.none()
    )
    sort = OrderingFilter(
        label=_("Sort by"),
        fields=(("total_spent", "spent"), ("started_at", "alerted")),
        field_labels={"total_spent": _("Total spent"), "started_at": _("Alerted")},
        empty_label=pgettext_lazy("sort", "Most spent first"),
        null_label=None,
    )
    default_ordering = ("-total_spent",)

    class Meta:
        model = ChurnEpisode
        fields = ["state", "lifecycle", "team"]

    def __init__(self, data=None, *args, user, **kwargs):
        data = data.copy() if data is not None else QueryDict(mutable=True)
        data.setdefault("state", self.OPEN)
        super().__init__(data, *args, **kwargs)
        self.filters["team"].queryset = visible_teams(user)

    def filter_state(self, queryset, name, value):
        if value == self.OPEN:
            return queryset.filter(ended_at__isnull=True)
        return queryset.filter(outcome=value)
