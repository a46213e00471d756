"""The survey answer pages customers open from their personal link: no
account, mobile first, rate-limited per address. Every way a link can fail
(unknown, answered, expired, survey closed, too many tries) gets a page of its
own that says so in the customer's language."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from crm.audit import client_ip
from crm.ratelimit import rate_limit_hit
from feedback.models import SURVEY_LANGUAGES, QuestionKind, SurveyInvitation
from feedback.surveys.answering import (
    MAX_ANSWER,
    SCALES,
    InvitationClosed,
    invitation_check,
    invitation_for_token,
    invitation_opened,
    survey_answer,
)


class AnswerForm(forms.Form):
    """The survey's questions as fields named q<id>; the service checks again."""

    def __init__(self, *args, questions, **kwargs):
        super().__init__(*args, **kwargs)
        self.questions = questions
        for question in questions:
            required = {"required": _("Please answer this question.")}
            if question.kind == QuestionKind.TEXT:
                field = forms.CharField(
                    widget=forms.Textarea(attrs={"rows": 4, "maxlength": MAX_ANSWER}),
                    max_length=MAX_ANSWER,
                    error_messages=required,
                )
            else:
                if question.kind in SCALES:
                    low, high = SCALES[question.kind]
                    choices = [(str(n), str(n)) for n in range(low, high + 1)]
                    wrong = _("Choose a number from %(low)d to %(high)d.") % {
                        "low": low,
                        "high": high,
                    }
                else:
                    choices = [(str(n), label) for n, label in enumerate(question.choice_list())]
                    wrong = _("Choose one of the answers.")
                field = forms.ChoiceField(
                    choices=choices,
                    widget=forms.RadioSelect,
                    error_messages={**required, "invalid_choice": wrong},
                )
            field.required = question.required
            field.label = question.text
            field.question = question
            self.fields[f"q{question.pk}"] = field

    def rows(self):
        return [(self[name], self.fields[name].question) for name in self.fields]


def _language(request, invitation: SurveyInvitation | None) -> str:
    wanted = request.GET.get("lang")
    if wanted in dict(SURVEY_LANGUAGES):
        return wanted
    return invitation.language if invitation else settings.LANGUAGE_CODE


def _flooded(request) -> bool:
    return rate_limit_hit(
        "survey", client_ip(request) or "-", limit=settings.SURVEY_HITS_PER_IP_HOUR, window=3600
    )


MESSAGES = {
    "missing": (
        404,
        gettext_lazy("This survey link is not valid. Please check that it was copied whole."),
    ),
    "expired": (410, gettext_lazy("This survey link has expired. Thank you for your interest.")),
    "closed": (410, gettext_lazy("This survey has ended. Thank you for your interest.")),
    "flood": (
        429,
        gettext_lazy("Too many tries from your network. Please wait a while and try again."),
    ),
}


def _closed_page(request, reason: str, invitation=None):
    status, message = MESSAGES[reason]
    return render(
        request,
        "feedback/public/closed.html",
        {"message": str(message), "reason": reason, "invitation": invitation,
         "languages": SURVEY_LANGUAGES},
        status=status,
    )  # fmt: skip


class SurveyAnswerView(View):
    template_name = "feedback/public/answer.html"

    def _render(self, request, invitation, form, status=200):
        return render(
            request,
            self.template_name,
            {"invitation": invitation, "survey": invitation.survey, "form": form,
             "languages": SURVEY_LANGUAGES},
            status=status,
        )  # fmt: skip

    def get(self, request, token: str):
        invitation = invitation_for_token(token)
        with translation.override(_language(request, invitation)):
            if invitation is None:
                if _flooded(request):  # unknown links count: guessing is a flood too
                    return _closed_page(request, "flood")
                return _closed_page(request, "missing")
            try:
                invitation_check(invitation)
            except InvitationClosed as closed:
                if closed.reason == "answered":
                    return redirect("survey_thanks", token=invitation.token)
                return _closed_page(request, closed.reason, invitation)
            invitation_opened(invitation)
            questions = list(invitation.survey.questions.all())
            return self._render(request, invitation, AnswerForm(questions=questions))

    def post(self, request, token: str):
        invitation = invitation_for_token(token)
        with translation.override(_language(request, invitation)):
            if _flooded(request):
                return _closed_page(request, "flood", invitation)
            if invitation is None:
                return _closed_page(request, "missing")
            questions = list(invitation.survey.questions.all())
            form = AnswerForm(request.POST, questions=questions)
            if form.is_valid():
                try:
                    survey_answer(token=invitation.token, data=form.cleaned_data, request=request)
                except InvitationClosed as closed:
                    if closed.reason == "answered":
                        return redirect("survey_thanks", token=invitation.token)
                    return _closed_page(request, closed.reason, invitation)
                except ValidationError as exc:
                    for name, errors in exc.message_dict.items():
                        form.add_error(None if name == "__all__" else name, errors)
                else:
                    lang = request.GET.get("lang")
                    query = f"?lang={lang}" if lang in dict(SURVEY_LANGUAGES) else ""
                    return redirect(reverse("survey_thanks", args=[invitation.token]) + query)
            return self._render(request, invitation, form)


class SurveyThanksView(View):
    def get(self, request, token: str):
        invitation = invitation_for_token(token)
        with translation.override(_language(request, invitation)):
            if invitation is None:
                return _closed_page(request, "flood" if _flooded(request) else "missing")
            if invitation.answered_at is None:
                return redirect("survey_answer", token=invitation.token)
            return render(
                request,
                "feedback/public/thanks.html",
                {"invitation": invitation, "survey": invitation.survey,
                 "languages": SURVEY_LANGUAGES},
            )  # fmt: skip
