"""Feedback pages. Reads through the selectors, writes through the services;
feedback outside the user's scope answers 404."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView

from customers.pages import FilteredListView, customer_param_or_404
from feedback import services
from feedback.filters import FeedbackFilter
from feedback.forms import FeedbackForm, FeedbackHandleForm
from feedback.models import Feedback, FeedbackStatus
from feedback.selectors import active_categories, feedback_get, feedback_list
from interactions.selectors import servable_customers
from sales.forms import service_errors


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
            customer=feedback.customer,
            can_handle=can_handle,
            moves=moves,
            form=form or FeedbackHandleForm(initial={"response": feedback.response}),
            **kwargs,
        )


class FeedbackHandleView(LoginRequiredMixin, PermissionRequiredMixin, View):
    permission_required = "feedback.change_feedback"

    def post(self, request, pk: int):
        feedback = _feedback_or_404(request.user, pk)
        form = FeedbackHandleForm(request.POST)
        if form.is_valid():
            try:
                services.feedback_handle(
                    actor=request.user,
                    feedback_id=feedback.pk,
                    status=form.cleaned_data["status"],
                    response=form.cleaned_data["response"],
                    request=request,
                )
            except ValidationError as exc:
                if getattr(exc, "code", None) == "forbidden":
                    raise Http404 from None
                service_errors(form, exc)
            else:
                messages.success(request, _("The feedback is saved."))
                return redirect(feedback)
        view = FeedbackDetailView(request=request, kwargs={"pk": pk})
        return render(request, FeedbackDetailView.template_name, view.get_context_data(form=form))
