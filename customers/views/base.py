"""The lookups and base views for every app whose records follow the customer
(sales, interactions…): the customer of a URL or of `?customer=`, in the user's
scope or 404, the base of the filtered lists and of a form posted from a
record's page, and the mixin of a page that first picks its customer. Views
of other apps use these instead of reaching into each other's views."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View
from django.views.generic import TemplateView
from django_filters.views import FilterView

from crm.forms import service_errors
from crm.htmx import HtmxPartialMixin
from crm.normalise import id_param
from crm.pagination import PeekPaginator
from customers.models import Customer
from customers.selectors import editable_customers, visible_customers


def customer_or_404(customers, pk: int | None) -> Customer:
    """The customer `pk` among `customers` (a scope of the user's); 404 otherwise,
    so a customer out of scope looks like one that does not exist."""
    customer = customers.filter(pk=pk).first() if pk is not None else None
    if customer is None:
        raise Http404
    return customer


def visible_customer_or_404(user, pk: int) -> Customer:
    return customer_or_404(visible_customers(user), pk)


def editable_customer_or_404(user, pk: int) -> Customer:
    return customer_or_404(editable_customers(user), pk)


class PicksCustomerMixin:
    """A page that works on one customer (`?customer=ID`): opened without one (the
    list's *New* button), it first sends the user to choose the customer, search as
    you type (CustomerPickView), and comes back with it. The view says what the
    picker's heading reads and which customers may be picked."""

    pick_title = None  # e.g. _("New order")

    @staticmethod
    def pick_customers(user):
        return editable_customers(user)

    def __init_subclass__(cls, **kwargs):
        """Django reads csrf_exempt off the class's dispatch: a view whose own
        dispatch is exempt (it sets upload handlers before CSRF reads the body, as
        the contract form does) keeps it with this dispatch in front."""
        super().__init_subclass__(**kwargs)
        after = cls.__mro__[cls.__mro__.index(PicksCustomerMixin) + 1 :]
        inner = next(base.__dict__["dispatch"] for base in after if "dispatch" in base.__dict__)
        if getattr(inner, "csrf_exempt", False):

            def dispatch(self, request, *args, **kwargs):
                return PicksCustomerMixin.dispatch(self, request, *args, **kwargs)

            dispatch.csrf_exempt = True
            cls.dispatch = dispatch

    def dispatch(self, request, *args, **kwargs):
        if (
            request.method == "GET"
            and request.user.is_authenticated
            and not request.GET.get("customer")
        ):
            query = urlencode({"next": request.path})
            return redirect(f"{reverse('customers:pick')}?{query}")
        return super().dispatch(request, *args, **kwargs)


def customer_param_or_404(request, customers) -> Customer:
    """The customer of `?customer=ID` among `customers` (a scope of the user's);
    404 otherwise."""
    return customer_or_404(customers, id_param(request.GET.get("customer")))


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


class FilteredListView(HtmxPartialMixin, LoginRequiredMixin, PermissionRequiredMixin, FilterView):
    """A list with a filter set that takes the user, 50 rows a page without a
    count, and only its results for htmx (its template extends list_page.html);
    `filtered_customer` names the customer of `?customer=` in the page's heading."""

    paginate_by = 50
    paginator_class = PeekPaginator

    def get_filterset_kwargs(self, filterset_class):
        return {**super().get_filterset_kwargs(filterset_class), "user": self.request.user}

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            filtered_customer=customer_param_visible(self.request), **kwargs
        )


class DetailActionView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """A form posted from a record's page (a ticket, a feedback…): the service acts
    and the page redirects with its message; on an error the page comes back with
    the message next to the field; a record out of reach answers 404."""

    detail_view: type[TemplateView]
    form_name = "form"

    def load(self, user, pk: int):
        raise NotImplementedError

    def form(self, request, obj):
        raise NotImplementedError

    def act(self, request, obj, form) -> str:
        """Call the service; the success message."""
        raise NotImplementedError

    def post(self, request, pk: int):
        obj = self.load(request.user, pk)
        form = self.form(request, obj)
        if form.is_valid():
            try:
                done = self.act(request, obj, form)
            except ValidationError as exc:
                if getattr(exc, "code", None) == "forbidden":
                    raise Http404 from None
                service_errors(form, exc)
            else:
                messages.success(request, done)
                return redirect(obj)
        view = self.detail_view(request=request, kwargs={"pk": pk})
        context = view.get_context_data(**{self.form_name: form})
        return render(request, self.detail_view.template_name, context)
