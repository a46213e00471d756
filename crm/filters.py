import django_filters
from django import forms
from django.contrib.contenttypes.models import ContentType
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.models import AuditAction, AuditEvent, Team, User
from crm.selectors import visible_teams


class AuditEventFilter(django_filters.FilterSet):
    actor = django_filters.ModelChoiceFilter(
        label=_("Actor"), queryset=User.objects.order_by("username")
    )
    action = django_filters.ChoiceFilter(label=_("Action"), choices=AuditAction.choices)
    target_type = django_filters.ModelChoiceFilter(
        label=_("Target type"), queryset=ContentType.objects.order_by("app_label", "model")
    )
    target_id = django_filters.CharFilter(label=_("Target id"))
    created_after = django_filters.DateFilter(
        label=_("From"),
        field_name="created_at",
        lookup_expr="date__gte",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    created_before = django_filters.DateFilter(
        label=_("To"),
        field_name="created_at",
        lookup_expr="date__lte",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = AuditEvent
        fields = ["actor", "action", "target_type", "target_id"]


class PersonFilter(django_filters.FilterSet):
    team = django_filters.ModelChoiceFilter(label=_("Team"), queryset=Team.objects.none())

    class Meta:
        model = User
        fields = ["team"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)

        self.filters["team"].queryset = visible_teams(user)


class OrderingFilter(django_filters.OrderingFilter):
    """django-filter's sort menu, its labels rendered in the reader's language.
    Django-filter writes "Name (descending)" once, when the filter class is built:
    in whichever language was active then, half translated ("姓名 (descending)",
    "消费总额 (descending)" in the English interface)."""

    def build_choices(self, fields, labels):
        ascending = [(param, labels.get(field, param)) for field, param in fields.items()]
        descending = [
            (
                f"-{param}",
                labels.get(
                    f"-{param}",
                    format_lazy(pgettext_lazy("sort", "{label} (descending)"), label=label),
                ),
            )
            for param, label in ascending
        ]
        return [choice for pair in zip(ascending, descending, strict=True) for choice in pair]


class StableOrderMixin:
    """For FilterSets: ties in every sort fall back to the id, so pages never
    overlap or skip rows; `default_ordering` applies when the user sorts by nothing."""

    default_ordering: tuple[str, ...] = ()

    @property
    def qs(self):
        queryset = super().qs
        ordering = list(queryset.query.order_by) or list(self.default_ordering)
        if ordering and "id" not in ordering and "-id" not in ordering:
            ordering.append("-id" if ordering[0].startswith("-") else "id")
        return queryset.order_by(*ordering)
