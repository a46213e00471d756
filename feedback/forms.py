"""Input shapes only: `feedback.services` checks the scores, the related order or
ticket, and that something was said."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from feedback.models import CouponReason, FeedbackChannel, FeedbackStatus
from sales.forms import DateInput


class FeedbackForm(forms.Form):
    channel = forms.ChoiceField(label=_("Channel"), choices=FeedbackChannel.choices)
    rating = forms.TypedChoiceField(
        label=_("Rating (1–5)"),
        choices=[("", "—"), *((str(n), "★" * n) for n in range(1, 6))],
        required=False,
    )
    nps = forms.CharField(
        label=_("Would recommend (0–10)"),
        required=False,
        max_length=4,
        widget=forms.NumberInput(attrs={"min": 0, "max": 10}),
    )
    category = forms.ModelChoiceField(
        label=_("Category"), queryset=None, required=False, empty_label="—"
    )
    text = forms.CharField(
        label=_("What the customer said"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    order = forms.ModelChoiceField(
        label=_("Related order"), queryset=None, required=False, empty_label="—"
    )
    ticket = forms.ModelChoiceField(
        label=_("Related ticket"), queryset=None, required=False, empty_label="—"
    )

    def __init__(self, *args, categories, orders, tickets, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = categories
        self.fields["order"].queryset = orders
        self.fields["ticket"].queryset = tickets


class FeedbackHandleForm(forms.Form):
    status = forms.ChoiceField(choices=FeedbackStatus.choices, widget=forms.HiddenInput)
    response = forms.CharField(
        label=_("Response given"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class PointsForm(forms.Form):
    points = forms.CharField(label=_("Points"), max_length=12)
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)


class CouponForm(forms.Form):
    value = forms.CharField(label=_("Value (CNY)"), max_length=20, required=False)
    percent = forms.CharField(label=_("Or percent off"), max_length=4, required=False)
    reason = forms.ChoiceField(label=_("Issued for"), choices=CouponReason.choices)
    valid_from = forms.DateField(label=_("Valid from"), required=False, widget=DateInput())
    valid_until = forms.DateField(label=_("Valid until"), required=False, widget=DateInput())
