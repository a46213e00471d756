"""Survey pages for the team: the list, the builder, a survey's results and
invitations, and sending links to one customer or to a filtered customer list.
Reads through the selectors, writes through `feedback.surveys`."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import ListView, TemplateView

from crm.forms import service_errors
from crm.messages import messages_error
from crm.normalise import id_param
from crm.pagination import PeekPaginator
from customers.filters import CustomerFilter
from customers.selectors import customer_list
from customers.views.base import customer_or_404
from feedback.forms import QuestionFormSet, SurveyForm, SurveySendForm
from feedback.models import Survey
from feedback.selectors import (
    active_categories,
    open_surveys,
    visible_invitations,
    visible_surveys,
)
from feedback.surveys.building import survey_save, survey_status_set
from feedback.surveys.results import survey_counts, survey_results
from feedback.surveys.sending import MAX_INVITATIONS, survey_invite
from interactions.selectors import servable_customers


def _survey_or_404(user, pk: int) -> Survey:
    survey = visible_surveys(user).filter(pk=pk).first()
    if survey is None:
        raise Http404
    return survey


def _written(data: dict) -> bool:
    """A question form that holds a question (an empty extra form does not,
    whatever its kind menu shows)."""
    return bool(
        data
        and (
            data.get("id")
            or any(data.get(name) for name in ("text_zh", "text_en", "choices_zh", "choices_en"))
        )
    )


def base_url(request) -> str:
    return request.build_absolute_uri("/")


class SurveyListView(LoginRequiredMixin, PermissionRequiredMixin, ListView):
    permission_required = "feedback.view_survey"
    template_name = "feedback/survey_list.html"
    paginate_by = 50
    paginator_class = PeekPaginator

    def get_queryset(self):
        return visible_surveys(self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        page = list(context["object_list"])
        counts = survey_counts(page, visible_invitations(self.request.user))
        context["rows"] = [(survey, counts.get(survey.pk, {})) for survey in page]
        return context


class SurveyEditView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """The builder: the survey's wording and its questions (add, reword,
    reorder by number, remove)."""

    template_name = "feedback/survey_form.html"

    def get_permission_required(self):
        return ["feedback.change_survey" if "pk" in self.kwargs else "feedback.add_survey"]

    def _survey(self, request, pk):
        return None if pk is None else _survey_or_404(request.user, pk)

    def get(self, request, pk: int | None = None):
        survey = self._survey(request, pk)
        if survey is None:
            form = SurveyForm(categories=active_categories())
            formset = QuestionFormSet(prefix="questions", initial=[{"kind": "rating"}])
        else:
            names = ["title_zh", "title_en", "intro_zh", "intro_en", "link_days", "points_bonus"]
            initial = {name: getattr(survey, name) for name in names}
            initial.update(category=survey.category, version=survey.version)
            form = SurveyForm(initial=initial, categories=active_categories())
            formset = QuestionFormSet(
                prefix="questions",
                initial=[
                    {"id": q.pk, "kind": q.kind, "text_zh": q.text_zh, "text_en": q.text_en,
                     "choices_zh": q.choices_zh, "choices_en": q.choices_en,
                     "required": q.required, "ORDER": n}
                    for n, q in enumerate(survey.questions.all(), start=1)
                ],
            )  # fmt: skip
        return self._render(request, survey, form, formset)

    def post(self, request, pk: int | None = None):
        survey = self._survey(request, pk)
        form = SurveyForm(request.POST, categories=active_categories())
        formset = QuestionFormSet(request.POST, prefix="questions")
        if form.is_valid() and formset.is_valid():
            used = [f for f in formset.forms if _written(f.cleaned_data)]
            used.sort(key=lambda f: (f.cleaned_data.get("ORDER") is None,
                                     f.cleaned_data.get("ORDER") or 0))  # fmt: skip
            questions = [
                {**f.cleaned_data, "delete": f.cleaned_data.get("DELETE", False)} for f in used
            ]
            try:
                saved = survey_save(
                    actor=request.user,
                    data=form.cleaned_data,
                    questions=questions,
                    survey_id=survey.pk if survey else None,
                    version=form.cleaned_data.get("version"),
                    request=request,
                )
            except ValidationError as exc:
                self._errors(form, used, exc)
            else:
                messages.success(request, _("The survey is saved."))
                return redirect(saved.get_absolute_url())
        return self._render(request, survey, form, formset)

    @staticmethod
    def _errors(form, used, exc: ValidationError) -> None:
        if not hasattr(exc, "error_dict"):
            form.add_error(None, exc)
            return
        for key, errors in exc.error_dict.items():
            if key.startswith("questions-"):
                __, index, name = key.split("-", 2)
                target = used[int(index)]
                target.add_error(name if name in target.fields else None, errors)
            else:
                form.add_error(key if key in form.fields else None, errors)

    def _render(self, request, survey, form, formset, status=200):
        context = {"survey": survey, "form": form, "formset": formset}
        return render(request, self.template_name, context, status=status)


class SurveyDetailView(LoginRequiredMixin, PermissionRequiredMixin, TemplateView):
    """A survey's questions with their results, and its invitations — both
    among the customers the reader may see."""

    permission_required = "feedback.view_survey"
    template_name = "feedback/survey_detail.html"
    SHOWN = 100

    def get_context_data(self, **kwargs):
        user = self.request.user
        survey = _survey_or_404(user, self.kwargs["pk"])
        invitations = visible_invitations(user).filter(survey=survey)
        shown = list(invitations.select_related("customer", "sent_by")[: self.SHOWN])
        servable = set(
            servable_customers(user)
            .filter(pk__in={i.customer_id for i in shown})
            .values_list("pk", flat=True)
        )
        return super().get_context_data(
            survey=survey,
            counts=survey_counts([survey], invitations).get(survey.pk, {}),
            results=survey_results(survey, invitations),
            invitations=[(i, i.customer_id in servable) for i in shown],
            more=max(0, invitations.count() - len(shown)) if len(shown) == self.SHOWN else 0,
            base_url=base_url(self.request),
            can_change=user.has_perm("feedback.change_survey"),
            **kwargs,
        )


class SurveyStatusView(LoginRequiredMixin, PermissionRequiredMixin, View):
    permission_required = "feedback.change_survey"

    def post(self, request, pk: int):
        survey = _survey_or_404(request.user, pk)
        try:
            survey_status_set(
                actor=request.user,
                survey_id=survey.pk,
                status=request.POST.get("status", ""),
                request=request,
            )
        except ValidationError as exc:
            messages_error(request, exc)
        else:
            messages.success(request, _("The survey's status is changed."))
        return redirect(survey.get_absolute_url())


class SurveySendView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """Send a survey to the customer of `?customer=`, or to every customer of
    the customer list's filter (the list's query string, passed on as `?list=1&…`)."""

    permission_required = "feedback.add_surveyinvitation"
    template_name = "feedback/survey_send.html"

    def _target(self, request):
        """(the one customer or None, the customers' ids, the list's query string)."""
        params = request.GET
        if "customer" in params:
            customer = customer_or_404(
                servable_customers(request.user), id_param(params.get("customer"))
            )
            return customer, [customer.pk], ""
        if params.get("list") != "1":
            raise Http404
        query = params.copy()
        query.pop("list", None)
        query.pop("page", None)
        found = CustomerFilter(
            query, queryset=customer_list(request.user), user=request.user, request=request
        ).qs
        ids = list(found.order_by("pk").values_list("pk", flat=True)[: MAX_INVITATIONS + 1])
        return None, ids, query.urlencode()

    def _render(self, request, form, customer, ids, query, status=200):
        context = {
            "form": form,
            "customer": customer,
            "count": len(ids),
            "too_many": len(ids) > MAX_INVITATIONS,
            "max": MAX_INVITATIONS,
            "query": query,
        }
        return render(request, self.template_name, context, status=status)

    def get(self, request):
        customer, ids, query = self._target(request)
        form = SurveySendForm(surveys=open_surveys(), initial={"language": request.LANGUAGE_CODE})
        return self._render(request, form, customer, ids, query)

    def post(self, request):
        customer, ids, query = self._target(request)
        form = SurveySendForm(request.POST, surveys=open_surveys())
        if form.is_valid():
            data = form.cleaned_data
            try:
                result = survey_invite(
                    actor=request.user,
                    survey_id=data["survey"].pk,
                    customer_ids=ids,
                    language=data["language"],
                    email=data["email"],
                    base_url=base_url(request),
                    skip_others=customer is None,
                    request=request,
                )
            except ValidationError as exc:
                service_errors(form, exc)
            else:
                messages.success(request, result.summary())
                if customer is not None:  # its link is on the customer's page, to copy
                    return redirect(customer.get_absolute_url() + "#surveys")
                return redirect(data["survey"].get_absolute_url())
        return self._render(request, form, customer, ids, query)
