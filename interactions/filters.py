from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.filters import OrderingFilter, StableOrderMixin
from crm.models import User
from crm.roles import SERVICE_AGENT
from customers.filters import MINE, DateRangeWidget, PeopleFilterMixin
from interactions.models import (
    ACTIVE_TICKET_STATUSES,
    Channel,
    Interaction,
    ServiceTicket,
    TaskPriority,
    TicketCategory,
    TicketStatus,
)

ACTIVE = "active"
UNASSIGNED = "none"


class InteractionFilter(PeopleFilterMixin, StableOrderMixin, django_filters.FilterSet):
    default_ordering = ("-occurred_at",)
    people = "user"
    me_label = pgettext_lazy("interaction filter", "Me")

    q = django_filters.CharFilter(label=_("Subject"), method="filter_q", max_length=100)
    user = django_filters.ChoiceFilter(
        label=pgettext_lazy("interaction", "By"), method="filter_person", choices=()
    )
    channel = django_filters.ChoiceFilter(label=_("Channel"), choices=Channel.choices)
    occurred = django_filters.DateFromToRangeFilter(
        label=_("Date"), field_name="occurred_at", widget=DateRangeWidget
    )
    customer = django_filters.NumberFilter(field_name="customer_id", widget=forms.HiddenInput)

    class Meta:
        model = Interaction
        fields = ["q", "user", "channel", "occurred", "customer"]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(subject__icontains=value) if value else queryset


class TicketFilter(PeopleFilterMixin, StableOrderMixin, django_filters.FilterSet):
    """The queue: active tickets by deadline unless asked otherwise."""

    default_ordering = ("sla_due_at",)
    people = "assignee"
    me_label = pgettext_lazy("assignee filter", "Me")

    q = django_filters.CharFilter(
        label=_("Ticket number or subject"), method="filter_q", max_length=100
    )
    status = django_filters.ChoiceFilter(
        label=_("Status"),
        method="filter_status",
        choices=[(ACTIVE, _("Open, in progress or waiting")), *TicketStatus.choices],
        empty_label=pgettext_lazy("ticket status", "Any"),
    )
    assignee = django_filters.ChoiceFilter(
        label=_("Assignee"), method="filter_assignee", choices=()
    )
    priority = django_filters.ChoiceFilter(label=_("Priority"), choices=TaskPriority.choices)
    category = django_filters.ChoiceFilter(label=_("Category"), choices=TicketCategory.choices)
    breached = django_filters.BooleanFilter(
        label=_("SLA breached only"), method="filter_breached", widget=forms.CheckboxInput
    )
    customer = django_filters.NumberFilter(field_name="customer_id", widget=forms.HiddenInput)
    sort = OrderingFilter(
        label=_("Sort by"),
        fields=(("sla_due_at", "due"), ("created_at", "opened")),
        field_labels={"sla_due_at": _("Resolve by"), "created_at": _("Opened")},
        empty_label=pgettext_lazy("sort", "Deadline first"),
        null_label=None,
    )

    class Meta:
        model = ServiceTicket
        fields = ["q", "status", "assignee", "priority", "category", "breached", "customer"]

    def __init__(self, data=None, *args, **kwargs):
        if data is not None and "status" not in data:
            data = data.copy()
            data["status"] = ACTIVE
        super().__init__(data, *args, **kwargs)

        choices = self.filters["assignee"].extra["choices"]
        known = {value for value, _label in choices}
        agents = User.objects.filter(groups__name=SERVICE_AGENT, is_active=True).order_by(
            "username"
        )
        self.filters["assignee"].extra["choices"] = [
            *choices[:1],
            (UNASSIGNED, _("Nobody yet")),
            *choices[1:],
            *((str(a.pk), str(a)) for a in agents if str(a.pk) not in known and a != self.user),
        ]

    def filter_assignee(self, queryset, name, value):
        if value == UNASSIGNED:
            return queryset.filter(assignee__isnull=True)
        return self.filter_person(queryset, name, value)

    def filter_status(self, queryset, name, value):
        if value == ACTIVE:
            return queryset.filter(status__in=ACTIVE_TICKET_STATUSES)
        return queryset.filter(status=value)

    def filter_breached(self, queryset, name, value):
        if not value:
            return queryset
        now = timezone.now()
        return queryset.filter(
            Q(status__in=ACTIVE_TICKET_STATUSES, waiting_since__isnull=True, sla_due_at__lt=now)
        )

    def filter_q(self, queryset, name, value):
        typed = value.strip()
        if not typed:
            return queryset
        return queryset.filter(Q(number=typed.upper()) | Q(subject__icontains=typed))


__all__ = ["MINE", "InteractionFilter", "TicketFilter"]
