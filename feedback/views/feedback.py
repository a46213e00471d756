"""Feedback pages. Reads through the selectors, writes through the services;
feedback outside the user's scope answers 404."""

from __future__ import annotations

import datetime
import hashlib

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db.models import Count, Max
from django.db.models.functions import Left
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView

from crm.forms import service_errors
from crm.messages import messages_error
from crm.models import User
from crm.normalise import id_param
from customers.views.base import (
    DetailActionView,
    FilteredListView,
    customer_param_or_404,
    visible_customer_or_404,
)
from feedback import analysis, loyalty, services
from feedback.filters import FeedbackFilter
from feedback.forms import CouponForm, FeedbackForm, FeedbackHandleForm, PointsForm
from feedback.models import (
    Feedback,
    FeedbackCategory,
    FeedbackChannel,
    FeedbackStatus,
    SurveyAnswer,
)
from feedback.selectors import (
    active_categories,
    feedback_get,
    feedback_list,
    loyalty_summary,
    visible_feedback,
)
from feedback.themes import themes
from interactions.selectors import servable_customers
from sales.models import Product


class FeedbackListView(FilteredListView):
    """The feedback inbox."""

    permission_required = "feedback.view_feedback"
    filterset_class = FeedbackFilter
    template_name = "feedback/feedback_list.html"

    def get_queryset(self):
        return feedback_list(self.request.user)


class FeedbackCreateView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """Record feedback for the customer of `?customer=` (from its 360° page)."""

    permission_required = "feedback.add_feedback"
    template_name = "feedback/feedback_form.html"

    def _customer(self, request):
        return customer_param_or_404(request, servable_customers(request.user))

    def _form(self, customer, data=None):
        return FeedbackForm(
            data,
            categories=active_categories(),
            orders=customer.orders.order_by("-ordered_at", "-id"),
            tickets=customer.tickets.order_by("-created_at", "-id"),
        )

    def get(self, request):
        customer = self._customer(request)
        return self._render(request, customer, self._form(customer))

    def post(self, request):
        customer = self._customer(request)
        form = self._form(customer, request.POST)
        if form.is_valid():
            try:
                services.feedback_record(
                    actor=request.user,
                    customer_id=customer.pk,
                    data=form.cleaned_data,
                    request=request,
                )
            except ValidationError as exc:
                service_errors(form, exc)
            else:
                messages.success(request, _("The feedback is recorded."))
                return redirect(customer.get_absolute_url() + "#feedback")
        return self._render(request, customer, form)

    def _render(self, request, customer, form):
        return render(request, self.template_name, {"customer": customer, "form": form})


def _feedback_or_404(user, pk: int) -> Feedback:
    try:
        return feedback_get(user, pk)
    except Feedback.DoesNotExist:
        raise Http404 from None


class FeedbackDetailView(LoginRequiredMixin, PermissionRequiredMixin, TemplateView):
    permission_required = "feedback.view_feedback"
    template_name = "feedback/feedback_detail.html"

    def get_context_data(self, form=None, **kwargs):
        user = self.request.user
        feedback = _feedback_or_404(user, self.kwargs["pk"])
        can_handle = (
            user.has_perm("feedback.change_feedback")
            and servable_customers(user).filter(pk=feedback.customer_id).exists()
        )
        moves = [(status, FeedbackStatus(status).label) for status in feedback.next_statuses()]
        return super().get_context_data(
            feedback=feedback,
            survey_answers=list(
                SurveyAnswer.objects.filter(invitation__feedback=feedback).select_related(
                    "question", "invitation__survey"
                )
            ),
            customer=feedback.customer,
            can_handle=can_handle,
            moves=moves,
            form=form or FeedbackHandleForm(initial={"response": feedback.response}),
            **kwargs,
        )


class FeedbackHandleView(DetailActionView):
    permission_required = "feedback.change_feedback"
    detail_view = FeedbackDetailView

    def load(self, user, pk: int):
        return _feedback_or_404(user, pk)

    def form(self, request, feedback):
        return FeedbackHandleForm(request.POST)

    def act(self, request, feedback, form) -> str:
        services.feedback_handle(
            actor=request.user,
            feedback_id=feedback.pk,
            status=form.cleaned_data["status"],
            response=form.cleaned_data["response"],
            request=request,
        )
        return _("The feedback is saved.")


class LoyaltyView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """A customer's points ledger and coupons, with the forms to redeem points,
    adjust them (managers), issue coupons and redeem one."""

    permission_required = "feedback.view_pointsentry"
    template_name = "feedback/loyalty.html"
    ACTIONS = ("redeem", "adjust", "issue", "use")

    def _render(self, request, customer, **forms):
        context = {
            "customer": customer,
            **loyalty_summary(customer, lines=100, coupons=200),
            "can_serve": servable_customers(request.user).filter(pk=customer.pk).exists(),
            "orders": list(customer.orders.order_by("-ordered_at", "-id")[:20]),
            "redeem_form": forms.get("redeem") or PointsForm(prefix="redeem"),
            "adjust_form": forms.get("adjust") or PointsForm(prefix="adjust"),
            "coupon_form": forms.get("issue") or CouponForm(prefix="issue"),
        }
        return render(request, self.template_name, context)

    def get(self, request, pk: int):
        return self._render(request, visible_customer_or_404(request.user, pk))

    def post(self, request, pk: int):
        customer = visible_customer_or_404(request.user, pk)
        action = request.POST.get("action", "")
        if action not in self.ACTIONS:
            raise Http404
        form = (
            CouponForm(request.POST, prefix="issue")
            if action == "issue"
            else PointsForm(request.POST, prefix=action)
            if action in ("redeem", "adjust")
            else None
        )
        try:
            if form is not None and not form.is_valid():
                return self._render(request, customer, **{action: form})
            done = self._act(request, customer, action, form)
        except ValidationError as exc:
            if getattr(exc, "code", None) == "forbidden":
                raise Http404 from None
            if form is None:
                messages_error(request, exc)
                return redirect("feedback:loyalty", pk=customer.pk)
            service_errors(form, exc)
            return self._render(request, customer, **{action: form})
        messages.success(request, done)
        return redirect("feedback:loyalty", pk=customer.pk)

    def _act(self, request, customer, action, form) -> str:
        user = request.user
        if action == "redeem":
            data = form.cleaned_data
            loyalty.points_redeem(actor=user, customer_id=customer.pk, points=data["points"],
                                  reason=data["reason"], request=request)  # fmt: skip
            return _("The points are redeemed.")
        if action == "adjust":
            data = form.cleaned_data
            loyalty.points_adjust(actor=user, customer_id=customer.pk, points=data["points"],
                                  reason=data["reason"], request=request)  # fmt: skip
            return _("The points are adjusted.")
        if action == "issue":
            coupon = loyalty.coupon_issue(actor=user, customer_id=customer.pk, request=request,
                                          **form.cleaned_data)  # fmt: skip
            return _("Coupon %(code)s is issued.") % {"code": coupon.code}
        coupon_id = id_param(request.POST.get("coupon"))
        if coupon_id is None or not customer.coupons.filter(pk=coupon_id).exists():
            raise Http404
        coupon = loyalty.coupon_redeem(
            actor=user,
            coupon_id=coupon_id,
            order_id=id_param(request.POST.get("order")),
            request=request,
        )
        return _("Coupon %(code)s is redeemed.") % {"code": coupon.code}


class AnalysisView(LoginRequiredMixin, PermissionRequiredMixin, TemplateView):
    """Satisfaction over the feedback the user may see, under the inbox's own
    filters: CSAT, NPS and the average rating overall, per month, per
    category, channel, product and rep; the themes of the free text, each a
    link to the feedback behind it; and unhappy customers still waiting for a
    response."""

    permission_required = "feedback.view_feedback"
    template_name = "feedback/analysis.html"
    THEME_TEXTS = 2_000  # the latest texts read for themes …
    THEME_CHARS = 500  # … their first characters …
    THEME_SECONDS = 600  # … and how long the themes are kept (splitting Chinese takes time)
    DEFAULT_DAYS = 365

    def _data(self):
        data = self.request.GET.copy()
        if "received_after" not in data and "received_before" not in data:  # cleared: all time
            start = timezone.localdate() - datetime.timedelta(days=self.DEFAULT_DAYS)
            data["received_after"] = start.isoformat()
        return data

    @staticmethod
    def _step(filterset) -> str:
        """Weeks for a period of up to three months, months otherwise."""
        if not filterset.is_valid():
            return "month"
        chosen = filterset.form.cleaned_data.get("received")
        start = chosen.start if chosen else None
        stop = chosen.stop if chosen else None
        if start is None:
            return "month"
        stop = stop or timezone.now()
        return "week" if (stop - start).days <= 92 else "month"

    def get_context_data(self, **kwargs):
        user = self.request.user
        data = self._data()
        filterset = FeedbackFilter(data, queryset=visible_feedback(user), user=user)
        feedback = filterset.qs
        query = data.copy()
        query.pop("page", None)
        by = self._step(filterset)
        trend = analysis.trend(feedback, by=by)
        categories = {c.pk: str(c) for c in FeedbackCategory.objects.all()}
        channels = dict(FeedbackChannel.choices)
        by_rep = analysis.breakdown(feedback, "customer__owner")
        people = {
            person.pk: str(person)
            for person in User.objects.filter(pk__in=[key for key, __ in by_rep if key])
        }
        by_product = analysis.breakdown(
            feedback.filter(order__isnull=False), "order__lines__product"
        )[:15]
        products = dict(
            Product.objects.filter(pk__in=[key for key, __ in by_product if key]).values_list(
                "pk", "name"
            )
        )
        # Kept until the feedback behind them changes (a new or removed one).
        latest = feedback.order_by().aggregate(n=Count("id"), last=Max("id"))
        marker = f"{user.pk}:{query.urlencode()}:{latest['n']}:{latest['last']}"
        key = "feedback-themes:" + hashlib.sha256(marker.encode()).hexdigest()
        found = cache.get(key)
        if found is None:
            texts = (
                feedback.exclude(text="")
                .order_by("-created_at")
                .annotate(head=Left("text", self.THEME_CHARS))
                .values_list("head", flat=True)[: self.THEME_TEXTS]
            )
            found = themes(texts)
            cache.set(key, found, self.THEME_SECONDS)
        unhappy = FeedbackFilter(
            {**query.dict(), "detractors": "true"}, queryset=feedback, user=user
        ).qs
        return super().get_context_data(
            filter=filterset,
            filter_query=query.urlencode(),
            overall=analysis.satisfaction(feedback),
            trend=trend,
            trend_step=by,
            chart={
                "labels": [
                    period.strftime("%Y-%m" if by == "month" else "%m-%d") for period, __ in trend
                ],
                "csat": [_number(row.csat) for __, row in trend],
                "nps": [_number(row.nps) for __, row in trend],
                "responses": [row.responses for __, row in trend],
                "names": {"csat": "CSAT %", "nps": "NPS", "responses": _("Responses")},
            },
            by_category=[
                (categories.get(key, _("No category")), row)
                for key, row in analysis.breakdown(feedback, "category")
            ],
            by_channel=[
                (channels.get(key, key), row)
                for key, row in analysis.breakdown(feedback, "channel")
            ],
            by_rep=[(people.get(key, _("No owner")), row) for key, row in by_rep],
            by_product=[(products.get(key, "—"), row) for key, row in by_product if key],
            themes=found,
            unhappy=list(unhappy.select_related("customer", "category")[:20]),
            **kwargs,
        )


def _number(value):
    return None if value is None else float(value)
