"""The shared pool (公海) pages: the pool list, claim, release, lock and
the *To be recycled* list. Every change of owner goes through customers.ownership;
the recycle dates come from customers.pool."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View
from django.views.generic import TemplateView

from crm.messages import messages_error
from crm.models import User
from customers import ownership, pool_lock
from customers.conflict import conflict_check
from customers.filters import PoolFilter
from customers.forms import ClaimForm, ConflictCheckForm, LockForm, ReleaseForm
from customers.models import Customer, RecycleReason
from customers.pool import Clock, recycle_clocks, recycle_soon
from customers.selectors import CustomerAccess, pool_customers, visible_customers
from customers.views.base import FilteredListView, editable_customer_or_404

_REASONS = dict(RecycleReason.choices)


def recycle_reason_label(code: str) -> str:
    return str(_REASONS.get(code, code))


def _form_errors(request, form) -> None:
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)


def _pool_url(back: str = "") -> str:
    """The pool page, with the filters it was posted from (re-encoded: only a query)."""
    query = QueryDict(back).urlencode() if back else ""
    return reverse("customers:pool") + (f"?{query}" if query else "")


class CustomerPoolView(FilteredListView):
    """Customers without an owner that the user sees, with how and when each came
    to the pool; phones and e-mails masked until the customer is claimed."""

    permission_required = "customers.view_customer"
    filterset_class = PoolFilter
    template_name = "customers/customer_pool.html"

    def get_queryset(self):
        return pool_customers(self.request.user)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            can_claim=self.request.user.has_perm("customers.change_customer"), **kwargs
        )


class CustomerClaimView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """Take one customer or the selected ones from the pool: all or none."""

    permission_required = "customers.change_customer"

    def post(self, request):
        form = ClaimForm(request.POST)
        if not form.is_valid():
            _form_errors(request, form)
            return redirect(_pool_url(form.cleaned_data.get("back", "")))
        ids = form.cleaned_data["ids"]
        back = _pool_url(form.cleaned_data["back"])
        try:
            count = ownership.customers_claim(actor=request.user, customer_ids=ids, request=request)
        except ValidationError as exc:
            messages_error(request, exc)
            return redirect(back)
        if count:
            messages.success(
                request,
                ngettext(
                    "You claimed %(count)d customer; it is yours now.",
                    "You claimed %(count)d customers; they are yours now.",
                    count,
                )
                % {"count": count},
            )
        else:
            messages.info(request, _("You already own these customers."))
        if len(set(ids)) == 1:
            return redirect(reverse("customers:detail", args=[ids[0]]))
        return redirect(back)


class CustomerReleaseView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """Give a customer back to the pool from its page, with a reason."""

    permission_required = "customers.change_customer"

    def post(self, request, pk: int):
        customer = editable_customer_or_404(request.user, pk)
        form = ReleaseForm(request.POST, prefix="release")
        if not form.is_valid():
            _form_errors(request, form)
            return redirect(customer)
        try:
            ownership.customers_release(
                actor=request.user,
                customer_ids=[customer.pk],
                release_reason=form.cleaned_data["release_reason"],
                note=form.cleaned_data["note"],
                request=request,
            )
        except ValidationError as exc:
            messages_error(request, exc)
            return redirect(customer)
        messages.success(
            request, _("%(customer)s is back in the shared pool.") % {"customer": customer.name}
        )
        return redirect(customer)


class CustomerLockView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """Lock a customer against recycling, or unlock it (owner or manager)."""

    permission_required = "customers.change_customer"

    def post(self, request, pk: int):
        customer = editable_customer_or_404(request.user, pk)
        form = LockForm(request.POST)
        if not form.is_valid():
            _form_errors(request, form)
            return redirect(customer)
        locked = form.cleaned_data["locked"]
        try:
            pool_lock.customer_lock(
                actor=request.user, customer_id=customer.pk, locked=locked, request=request
            )
        except ValidationError as exc:
            messages_error(request, exc)
            return redirect(customer)
        if locked:
            messages.success(request, _("The customer is locked: it is not returned to the pool."))
        else:
            messages.success(request, _("The customer is unlocked: the pool rules apply again."))
        return redirect(customer)


@dataclass(frozen=True)
class SoonRow:
    customer: Customer
    clock: Clock

    @property
    def reason(self) -> str:
        return recycle_reason_label(self.clock.reason)


def recycle_soon_owner_ids(user: User) -> list[int]:
    """Whose customers the user's *To be recycled* list holds: their own and, for a
    manager, those of the people in the teams they manage."""
    owner_ids = [user.pk]
    if user.has_perm("customers.view_team_customers"):
        team_people = User.objects.filter(team__manager=user).exclude(pk=user.pk)
        owner_ids += list(team_people.values_list("pk", flat=True))
    return owner_ids


class RecycleSoonView(LoginRequiredMixin, PermissionRequiredMixin, TemplateView):
    """Customers that return to the pool within their rules' warning days."""

    permission_required = "customers.view_customer"
    template_name = "customers/recycle_soon.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        soon = recycle_soon(recycle_soon_owner_ids(user))
        customers = visible_customers(user).select_related("owner").in_bulk([pk for pk, _c in soon])
        rows = [SoonRow(customers[pk], clock) for pk, clock in soon if pk in customers]
        return super().get_context_data(
            rows=rows, manages=user.has_perm("customers.view_team_customers"), **kwargs
        )


def detail_pool_context(user: User, customer: Customer, access: CustomerAccess) -> dict:
    """The customer page's ownership panel: the recycle clock, release and lock for
    the owner or a manager, claim for a customer in the pool."""
    owned = customer.owner_id is not None
    manages = user.has_perm("customers.assign_customer_owner")
    may_change = owned and access.can_edit and (customer.owner_id == user.pk or manages)
    clock = recycle_clocks([customer.pk]).get(customer.pk) if owned else None
    return {
        "clock": clock,
        "clock_reason": recycle_reason_label(clock.reason) if clock else "",
        "can_release": may_change,
        "can_lock": may_change,
        "release_form": ReleaseForm(prefix="release") if may_change else None,
        "can_claim": not owned and user.has_perm("customers.change_customer"),
    }


class ConflictCheckView(LoginRequiredMixin, PermissionRequiredMixin, TemplateView):
    """查冲突: before creating a customer, who already has it (customers.conflict)."""

    permission_required = "customers.add_customer"
    template_name = "customers/conflict_check.html"

    # The query is posted, never put in the address: a phone or an e-mail in a URL
    # lands in every web server's and proxy's log.

    def post(self, request, *args, **kwargs):
        form = ConflictCheckForm(request.POST)
        matches = None
        if form.is_valid():
            try:
                matches = conflict_check(
                    actor=request.user, query=form.cleaned_data["q"], request=request
                )
            except ValidationError as exc:
                form.add_error(None, exc)
        return self.render_to_response(self.get_context_data(form=form, matches=matches))

    def get_context_data(self, **kwargs):
        kwargs.setdefault("form", ConflictCheckForm())
        kwargs.setdefault("matches", None)
        return super().get_context_data(**kwargs)
