"""The churn alerts page and "mark lost" (segmentation.churn)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from customers.views.base import DetailActionView, FilteredListView, editable_customer_or_404
from customers.views.profile import CustomerDetailView
from segmentation.churn import LOST_REASON_MAX, churn_mark_lost, churn_reasons
from segmentation.filters import ChurnFilter
from segmentation.selectors import visible_churn_episodes


class ChurnListView(FilteredListView):
    """Churn alerts of the customers the user sees, with their reasons as they
    were when the alert was raised."""

    permission_required = "customers.view_customer"
    filterset_class = ChurnFilter
    template_name = "segmentation/churn_list.html"

    def get_queryset(self):
        return visible_churn_episodes(self.request.user).select_related(
            "customer", "owner", "task", "ended_by"
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["rows"] = [(episode, churn_reasons(episode)) for episode in context["page_obj"]]
        return context


class LostForm(forms.Form):
    reason = forms.CharField(
        label=_("Why is the customer lost?"), max_length=LOST_REASON_MAX,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. moved to a competitor")}),
    )  # fmt: skip


class ChurnLostView(DetailActionView):
    """Mark a customer lost from its page: the open churn alert ends."""

    permission_required = "customers.change_customer"
    detail_view = CustomerDetailView
    form_name = "lost_form"

    def load(self, user, pk: int):
        return editable_customer_or_404(user, pk)

    def form(self, request, obj):
        return LostForm(request.POST)

    def act(self, request, obj, form) -> str:
        churn_mark_lost(
            actor=request.user, customer_id=obj.pk, reason=form.cleaned_data["reason"],
            request=request,
        )  # fmt: skip
        return _("The customer is marked lost; no churn alert until they buy again.")
