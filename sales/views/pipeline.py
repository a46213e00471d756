"""Opportunity and competitor pages: the pipeline board, the list, an opportunity's
page with its stage history, and win/loss against each competitor. Thin: reads
through sales.selectors, writes through sales.pipeline."""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.db.models import Count, Sum
from django.db.models.functions import Coalesce
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import FormView, TemplateView

from crm.htmx import HtmxPartialMixin
from crm.messages import messages_error
from crm.models import User
from crm.normalise import id_param
from customers.selectors import customer_access, people_for_customer
from customers.views.base import (
    FilteredListView,
    PicksCustomerMixin,
    customer_param_editable_or_404,
)
from sales import pipeline
from sales.filters import OpportunityFilter
from sales.forms import CompetitorForm, LostForm, OpportunityForm, service_errors
from sales.models import OPEN_STAGES, ZERO, LostReason, Opportunity, Stage
from sales.selectors import (
    competitor_records,
    opportunity_get,
    opportunity_list,
    pipeline_board,
    visible_competitors,
    visible_opportunities,
)

BOARD_CLOSED_DAYS = 30


def _opportunity_or_404(user, pk: int) -> Opportunity:
    try:
        return opportunity_get(user, pk)
    except Opportunity.DoesNotExist:
        raise Http404 from None


def _active_competitors(user: User, keep: int | None = None):
    from django.db.models import Q

    return visible_competitors(user).filter(Q(is_active=True) | Q(pk=keep))


class OpportunityListView(FilteredListView):
    permission_required = "sales.view_opportunity"
    filterset_class = OpportunityFilter
    template_name = "sales/opportunity_list.html"

    def get_queryset(self):
        return opportunity_list(self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        qs = self.filterset.qs if self.filterset.is_valid() else self.get_queryset().none()
        context["totals"] = qs.order_by().aggregate(
            count=Count("id"), amount=Coalesce(Sum("amount"), ZERO)
        )
        return context


class PipelineView(HtmxPartialMixin, LoginRequiredMixin, PermissionRequiredMixin, TemplateView):
    """Columns by stage; a card moves with a click on its stage menu, or by drag
    and drop (static/js/kehu.js posts the same form)."""

    permission_required = "sales.view_opportunity"
    template_name = "sales/pipeline.html"
    htmx_partial = "board"

    def get_context_data(self, **kwargs):
        user = self.request.user
        params = self.request.GET.copy()
        params.pop("stage", None)
        filterset = OpportunityFilter(params, queryset=opportunity_list(user), user=user)
        qs = filterset.qs if filterset.is_valid() else opportunity_list(user).none()
        since = timezone.now() - datetime.timedelta(days=BOARD_CLOSED_DAYS)
        columns = pipeline_board(qs, closed_since=since)
        return super().get_context_data(
            filter=filterset,
            columns=columns,
            open_amount=sum((c.amount for c in columns if c.stage in OPEN_STAGES), ZERO),
            open_weighted=sum((c.weighted for c in columns if c.stage in OPEN_STAGES), ZERO),
            closed_days=BOARD_CLOSED_DAYS,
            stages=Stage.choices,
            query=params.urlencode(),
            **kwargs,
        )


class _OpportunityFormView(LoginRequiredMixin, PermissionRequiredMixin, FormView):
    form_class = OpportunityForm
    template_name = "sales/opportunity_form.html"

    def get_form_kwargs(self):
        keep = getattr(self.opportunity, "competitor_id", None)
        return {
            **super().get_form_kwargs(),
            "owners": people_for_customer(self.request.user, self.customer),
            "competitors": _active_competitors(self.request.user, keep),
            "creating": self.opportunity is None,
        }

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            customer=self.customer, opportunity=self.opportunity, **kwargs
        )


def _late_warning(request, opportunity) -> None:
    if opportunity.is_late:
        messages.warning(
            request,
            _("The expected close date %(date)s has passed: move it, or mark the deal won or lost.")
            % {"date": opportunity.expected_close.isoformat()},
        )


class OpportunityCreateView(PicksCustomerMixin, _OpportunityFormView):
    permission_required = "sales.add_opportunity"
    pick_title = gettext_lazy("New opportunity")
    opportunity = None

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and request.GET.get("customer"):
            self.customer = customer_param_editable_or_404(request)
        elif request.user.is_authenticated and request.method != "GET":
            raise Http404  # a form posted without its customer
        return super().dispatch(request, *args, **kwargs)

    def get_initial(self):
        close = timezone.localdate() + datetime.timedelta(days=30)
        return {
            "owner": self.customer.owner_id or self.request.user.pk,
            "stage": Stage.QUALIFICATION,
            "expected_close": close,
        }

    def form_valid(self, form):
        try:
            opportunity = pipeline.opportunity_create(
                actor=self.request.user,
                customer_id=self.customer.pk,
                data=form.service_data(),
                request=self.request,
            )
        except ValidationError as exc:
            service_errors(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, _("The opportunity is saved."))
        _late_warning(self.request, opportunity)
        return redirect(opportunity)


class OpportunityUpdateView(_OpportunityFormView):
    permission_required = "sales.change_opportunity"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            self.opportunity = _opportunity_or_404(request.user, kwargs["pk"])
            self.customer = self.opportunity.customer
            if not customer_access(request.user, self.customer).can_edit:
                raise Http404
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, *args, **kwargs):
        if not self.opportunity.is_open:
            messages.error(request, _("A closed opportunity is reopened before it is changed."))
            return redirect(self.opportunity)
        return super().get(request, *args, **kwargs)

    def get_initial(self):
        return OpportunityForm.initial_for(self.opportunity)

    def form_valid(self, form):
        try:
            opportunity = pipeline.opportunity_update(
                actor=self.request.user,
                opportunity_id=self.opportunity.pk,
                version=form.cleaned_data.get("version") or 0,
                data=form.service_data(),
                request=self.request,
            )
        except ValidationError as exc:
            service_errors(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, _("Your changes are saved."))
        _late_warning(self.request, opportunity)
        return redirect(opportunity)


class OpportunityDetailView(LoginRequiredMixin, PermissionRequiredMixin, TemplateView):
    permission_required = "sales.view_opportunity"
    template_name = "sales/opportunity_detail.html"

    def get_context_data(self, lost_form=None, **kwargs):
        user = self.request.user
        opportunity = _opportunity_or_404(user, self.kwargs["pk"])
        can_change = (
            user.has_perm("sales.change_opportunity")
            and customer_access(user, opportunity.customer).can_edit
        )
        competitors = _active_competitors(user, opportunity.competitor_id)
        return super().get_context_data(
            opportunity=opportunity,
            customer=opportunity.customer,
            can_change=can_change,
            can_order=can_change
            and opportunity.stage == Stage.WON
            and opportunity.order_id is None
            and user.has_perm("sales.add_order"),
            lost_form=lost_form
            or LostForm(
                initial={"competitor": opportunity.competitor_id, "version": opportunity.version},
                competitors=competitors,
            ),
            moves=[
                (s, label) for s, label in Stage.choices if s not in (opportunity.stage, "lost")
            ],
            history=list(opportunity.stage_changes.all()),
            **kwargs,
        )


class OpportunityMoveView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """POST stage (and, for lost, the reason). From the board (htmx) it answers the
    board again, filtered as it was; from the opportunity's page, that page."""

    permission_required = "sales.change_opportunity"

    def post(self, request, pk: int):
        opportunity = _opportunity_or_404(request.user, pk)
        stage = request.POST.get("stage", "")
        board = request.POST.get("from") == "board"
        if board and stage == Stage.LOST:  # a loss says why: on the opportunity's page
            url = reverse("sales:opportunity_detail", args=[pk]) + "#lost"
            response = HttpResponse(status=204)
            response["HX-Redirect"] = url
            return response if request.htmx else redirect(url)
        lost = None
        if stage == Stage.LOST:
            lost = LostForm(
                request.POST,
                competitors=_active_competitors(request.user, opportunity.competitor_id),
            )
            if not lost.is_valid():
                return self._lost_again(request, pk, lost)
        version = request.POST.get("version", "")
        try:
            pipeline.opportunity_move(
                actor=request.user,
                opportunity_id=opportunity.pk,
                stage=stage,
                version=id_param(version),
                lost_reason=lost.cleaned_data["lost_reason"] if lost else "",
                lost_notes=lost.cleaned_data["lost_notes"] if lost else "",
                competitor=lost.cleaned_data["competitor"] if lost else None,
                request=request,
            )
        except ValidationError as exc:
            if getattr(exc, "code", None) == "forbidden":
                raise Http404 from None
            if lost is not None and hasattr(exc, "error_dict"):
                service_errors(lost, exc)
                return self._lost_again(request, pk, lost)
            messages_error(request, exc)
        else:
            if not board:
                messages.success(
                    request,
                    _("The opportunity moved to %(stage)s.") % {"stage": Stage(stage).label},
                )
        if board:  # htmx follows the redirect and swaps the board, filtered as it was
            return redirect(f"{reverse('sales:pipeline')}?{request.POST.get('query', '')}")
        return redirect(reverse("sales:opportunity_detail", args=[pk]))

    def _lost_again(self, request, pk, lost):
        view = OpportunityDetailView()
        view.setup(request, pk=pk)
        context = view.get_context_data(lost_form=lost)
        return render(request, "sales/opportunity_detail.html", context, status=200)


# --- competitors -----------------------------------------------------------------


class CompetitorListView(LoginRequiredMixin, PermissionRequiredMixin, TemplateView):
    permission_required = "sales.view_competitor"
    template_name = "sales/competitor_list.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        records = competitor_records(user, visible_competitors(user))
        return super().get_context_data(records=records, **kwargs)


class CompetitorDetailView(LoginRequiredMixin, PermissionRequiredMixin, TemplateView):
    permission_required = "sales.view_competitor"
    template_name = "sales/competitor_detail.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        qs = visible_competitors(user).filter(pk=self.kwargs["pk"])
        records = competitor_records(user, qs)
        if not records:
            raise Http404
        against = (
            visible_opportunities(user)
            .filter(competitor=records[0].competitor)
            .select_related("customer", "owner")
        )
        reasons = (
            against.filter(stage=Stage.LOST)
            .order_by()
            .values("lost_reason")
            .annotate(count=Count("id"))
            .order_by("-count")
        )
        labels = dict(LostReason.choices)
        return super().get_context_data(
            record=records[0],
            competitor=records[0].competitor,
            reasons=[(labels.get(r["lost_reason"], r["lost_reason"]), r["count"]) for r in reasons],
            recent=list(against.order_by("-updated_at", "-id")[:20]),
            **kwargs,
        )


class CompetitorFormView(LoginRequiredMixin, PermissionRequiredMixin, FormView):
    form_class = CompetitorForm
    template_name = "sales/competitor_form.html"

    def get_permission_required(self):
        return ["sales.change_competitor" if "pk" in self.kwargs else "sales.add_competitor"]

    def dispatch(self, request, *args, **kwargs):
        self.competitor = None
        if "pk" in kwargs and request.user.is_authenticated:
            self.competitor = visible_competitors(request.user).filter(pk=kwargs["pk"]).first()
            if self.competitor is None:
                raise Http404
        return super().dispatch(request, *args, **kwargs)

    def get_initial(self):
        if self.competitor is None:
            return {"is_active": True}
        return CompetitorForm.initial_for(self.competitor)

    def get_context_data(self, **kwargs):
        return super().get_context_data(competitor=self.competitor, **kwargs)

    def form_valid(self, form):
        try:
            competitor = pipeline.competitor_save(
                actor=self.request.user,
                data=form.cleaned_data,
                competitor_id=self.competitor.pk if self.competitor else None,
                request=self.request,
            )
        except ValidationError as exc:
            service_errors(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, _("%(name)s is saved.") % {"name": competitor})
        return redirect(competitor)
