"""Input shapes only: `feedback.services` checks the scores, the related order or
ticket, and that something was said."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from feedback.models import (
    SURVEY_LANGUAGES,
    CouponReason,
    FeedbackChannel,
    FeedbackStatus,
    QuestionKind,
)
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
    value = forms.CharField(
        label=_("Value (CNY)"),
        max_length=20,
        required=False,
        help_text=_("Empty for a birthday or win-back coupon: the loyalty rules' value."),
    )
    percent = forms.CharField(label=_("Or percent off"), max_length=4, required=False)
    reason = forms.ChoiceField(label=_("Issued for"), choices=CouponReason.choices)
    valid_from = forms.DateField(label=_("Valid from"), required=False, widget=DateInput())
    valid_until = forms.DateField(label=_("Valid until"), required=False, widget=DateInput())


class SurveyForm(forms.Form):
    title_zh = forms.CharField(label=_("Title (Chinese)"), max_length=120, required=False)
    title_en = forms.CharField(label=_("Title (English)"), max_length=120, required=False)
    intro_zh = forms.CharField(
        label=_("Introduction (Chinese)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    intro_en = forms.CharField(
        label=_("Introduction (English)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    link_days = forms.CharField(
        label=_("Links valid for (days)"), max_length=4, initial=14, widget=forms.NumberInput()
    )
    points_bonus = forms.CharField(
        label=_("Bonus points for answering"), max_length=7, initial=0, widget=forms.NumberInput()
    )
    category = forms.ModelChoiceField(
        label=_("File the answers under"), queryset=None, required=False, empty_label="—"
    )
    version = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, categories, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = categories


class QuestionForm(forms.Form):
    id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    kind = forms.ChoiceField(label=_("Kind"), choices=QuestionKind.choices)
    text_zh = forms.CharField(label=_("Question (Chinese)"), max_length=300, required=False)
    text_en = forms.CharField(label=_("Question (English)"), max_length=300, required=False)
    choices_zh = forms.CharField(
        label=_("Choices (Chinese), one per line"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    choices_en = forms.CharField(
        label=_("Choices (English), one per line"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    required = forms.BooleanField(label=_("Answer required"), required=False, initial=True)


class BaseQuestionFormSet(forms.BaseFormSet):
    def add_fields(self, form, index):
        super().add_fields(form, index)
        form.fields["ORDER"].label = _("Position")
        form.fields["DELETE"].label = _("Remove this question")


QuestionFormSet = forms.formset_factory(
    QuestionForm,
    formset=BaseQuestionFormSet,
    extra=2,
    can_delete=True,
    can_order=True,
    max_num=30,
    absolute_max=40,
)


class SurveySendForm(forms.Form):
    survey = forms.ModelChoiceField(label=_("Survey"), queryset=None, empty_label=None)
    language = forms.ChoiceField(label=_("Language of the page"), choices=SURVEY_LANGUAGES)
    email = forms.BooleanField(
        label=_("Also e-mail the link to the customer"),
        required=False,
        help_text=_("Customers without an e-mail address get the link only."),
    )

    def __init__(self, *args, surveys, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["survey"].queryset = surveys
