"""Input shapes only: `feedback.services` checks the scores, the related order or
ticket, and that something was said."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from feedback.models import FeedbackChannel, FeedbackStatus


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
