"""Page helpers for every app whose records follow the customer (sales,
interactions…): the customer of a URL or of `?customer=`, in the user's scope or
404, and the base of the filtered lists. Views of other apps use these instead of
reaching into each other's views."""

from __future__ import annotations

from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.http import Http404
from django.utils.decorators import method_decorator
from django.views.decorators.vary import vary_on_headers
from django_filters.views import FilterView

from crm.normalise import id_param
from crm.pagination import PeekPaginator
from customers.models import Customer
from customers.selectors import editable_customers, visible_customers


def visible_customer_or_404(user, pk: int) -> Customer:
    try:
        return visible_customers(user).get(pk=pk)
    except Customer.DoesNotExist:
        raise Http404 from None


def editable_customer_or_404(user, pk: int) -> Customer:
    try:
        return editable_customers(user).get(pk=pk)
    except Customer.DoesNotExist:
        raise Http404 from None


def customer_param_or_404(request, customers) -> Customer:
    """The customer of `?customer=ID` among `customers` (a scope of the user's);
    404 otherwise."""
    customer_id = id_param(request.GET.get("customer"))
    customer = customers.filter(pk=customer_id).first() if customer_id is not None else None
    if customer is None:
        raise Http404
    return customer


def customer_param_editable_or_404(request) -> Customer:
    """The customer of `?customer=ID`, if the user may work on it (a new order,
    opportunity or contract is for such a customer); 404 otherwise."""
    return customer_param_or_404(request, editable_customers(request.user))


def customer_param_visible(request) -> Customer | None:
    """The customer a list is narrowed to by `?customer=ID`, if the user sees it."""
    customer_id = id_param(request.GET.get("customer"))
    if customer_id is None:
        return None
    return visible_customers(request.user).filter(pk=customer_id).first()


@method_decorator(vary_on_headers("HX-Request"), name="dispatch")
class FilteredListView(LoginRequiredMixin, PermissionRequiredMixin, FilterView):
    """A list with a filter set that takes the user, 50 rows a page without a count,
    and only its `#results` partial for htmx; `filtered_customer` names the
    customer of `?customer=` in the page's heading."""

    paginate_by = 50
    paginator_class = PeekPaginator

    def get_filterset_kwargs(self, filterset_class):
        return {**super().get_filterset_kwargs(filterset_class), "user": self.request.user}

    def get_template_names(self):
        return [self.template_name + ("#results" if self.request.htmx else "")]

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            filtered_customer=customer_param_visible(self.request), **kwargs
        )
