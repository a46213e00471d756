"""The customer picker: a page that needs a customer (PicksCustomerMixin) sends
the user here first, to find it as the top bar finds customers, and comes back
with it."""

from __future__ import annotations

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import Resolver404, resolve
from django.views import View

from crm.htmx import HtmxPartialMixin
from customers.selectors import customers_matching
from customers.views.base import PicksCustomerMixin


class CustomerPickView(HtmxPartialMixin, LoginRequiredMixin, View):
    """Choose the customer for a page that needs one (PicksCustomerMixin): the page
    is named by `?next=` and must be such a page; the results are the customers that
    page accepts, found as the top bar finds them."""

    template_name = "customers/customer_pick.html"
    htmx_partial = "results"
    SHOWN = 20

    def get(self, request):
        target = request.GET.get("next", "")
        try:
            match = resolve(target)
        except Resolver404:
            raise Http404 from None
        view = getattr(match.func, "view_class", None)
        if not (view and issubclass(view, PicksCustomerMixin)) or not target.startswith("/"):
            raise Http404
        if not request.user.has_perms(_required(view)):
            raise PermissionDenied
        query = request.GET.get("q", "").strip()[:100]
        scope = view.pick_customers(request.user)
        found = (
            customers_matching(scope, query).select_related("owner").order_by("name_pinyin", "id")
            if query
            else scope.filter(owner=request.user).order_by("-updated_at", "id")
        )
        context = {
            "title": view.pick_title,
            "next": target,
            "query": query,
            "customers": list(found[: self.SHOWN]),
        }
        return self.render_part(context)


def _required(view) -> tuple[str, ...]:
    required = getattr(view, "permission_required", None) or ()
    return (required,) if isinstance(required, str) else tuple(required)
