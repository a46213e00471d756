"""Sales pages: the product catalogue and orders. Reads through the selectors,
writes through the services; an order outside the user's scope answers 404."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import FormView, TemplateView
from django_filters.views import FilterView

from crm.htmx import HtmxPartialMixin
from crm.messages import messages_error
from crm.normalise import id_param
from crm.pagination import PeekPaginator
from customers.models import Customer
from customers.selectors import customer_access, editable_customers, people_for_customer
from customers.views.base import (
    FilteredListView,
    PicksCustomerMixin,
    customer_param_editable_or_404,
)
from sales.filters import OrderFilter, ProductFilter
from sales.forms import (
    LINES_PREFIX,
    OrderForm,
    OrderLineFormSet,
    ProductForm,
    RefundForm,
    lines_data_edit,
    lines_initial,
    service_errors,
)
from sales.models import ZERO, Opportunity, Order, OrderStatus
from sales.selectors import (
    order_get,
    order_list,
    products_for_orders,
    visible_opportunities,
    visible_products,
)
from sales.services.orders import order_create, order_status_change, order_update
from sales.services.products import product_save
from sales.services.refunds import refund_create

# --- products ------------------------------------------------------------------


class ProductListView(LoginRequiredMixin, PermissionRequiredMixin, FilterView):
    permission_required = "sales.view_product"
    filterset_class = ProductFilter
    template_name = "sales/product_list.html"
    paginate_by = 50
    paginator_class = PeekPaginator

    def get_queryset(self):
        return visible_products(self.request.user)


class ProductFormView(LoginRequiredMixin, PermissionRequiredMixin, FormView):
    form_class = ProductForm
    template_name = "sales/product_form.html"

    def get_permission_required(self):
        return ["sales.change_product" if "pk" in self.kwargs else "sales.add_product"]

    def dispatch(self, request, *args, **kwargs):
        self.product = None
        if "pk" in kwargs and request.user.is_authenticated:
            self.product = visible_products(request.user).filter(pk=kwargs["pk"]).first()
            if self.product is None:
                raise Http404
        return super().dispatch(request, *args, **kwargs)

    def get_initial(self):
        if self.product is None:
            return {"currency": "CNY", "is_active": True}
        return ProductForm.initial_for(self.product)

    def get_context_data(self, **kwargs):
        return super().get_context_data(product=self.product, **kwargs)

    def form_valid(self, form):
        try:
            product = product_save(
                actor=self.request.user,
                data=form.cleaned_data,
                product_id=self.product.pk if self.product else None,
                request=self.request,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.form_invalid(form)
        messages.success(self.request, _("%(product)s is saved.") % {"product": product})
        return redirect("sales:product_list")


# --- orders --------------------------------------------------------------------


class OrderListView(FilteredListView):
    permission_required = "sales.view_order"
    filterset_class = OrderFilter
    template_name = "sales/order_list.html"

    def get_queryset(self):
        return order_list(self.request.user)


def _apply_errors(form, formset, exc: ValidationError, indexes: list[int]) -> None:
    """A service error onto the page: `lines.N.field` keys next to that line's
    field, other keys next to the order's fields, the rest above the form."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for key, errors in exc.error_dict.items():
        if key and key.startswith("lines."):
            _lines, position, field = key.split(".", 2)
            target = formset.forms[indexes[int(position)]]
        else:
            target, field = form, key
        service_errors(target, ValidationError({field: errors}))


class _OrderFormMixin(HtmxPartialMixin, LoginRequiredMixin, PermissionRequiredMixin):
    """The order entry page: the order's fields and its lines. "Add line",
    "Remove" and a changed field re-render the lines with their totals (in place
    with htmx, as a page without it); only "Save" writes."""

    template_name = "sales/order_form.html"
    creating = True

    def page_context(self, customer: Customer) -> dict:
        return {}

    def forms(self, customer: Customer, data=None, initial=None, lines=None, include=()):
        order_form = OrderForm(
            data,
            initial=initial,
            salespeople=people_for_customer(self.request.user, customer),
            creating=self.creating,
        )
        formset = OrderLineFormSet(
            data,
            initial=lines,
            prefix=LINES_PREFIX,
            products=products_for_orders(include=set(include)),
        )
        return order_form, formset

    def render_page(self, customer, order_form, formset, order=None, part="lines"):
        currency = "CNY"
        if order_form.is_bound and order_form.is_valid():
            currency = order_form.cleaned_data["currency"]
        elif order is not None:
            currency = order.currency
        rows, total = [], ZERO
        for form in formset.forms:
            amount = form.preview_total(currency) if form.is_bound else None
            if amount is not None:
                total += amount
            rows.append((form, amount))
        context = {
            **self.page_context(customer),
            "customer": customer,
            "order": order,
            "form": order_form,
            "formset": formset,
            "rows": rows,
            "total": total,
            "currency": currency,
        }
        return self.render_part(context, part)

    def post_lines(self, customer, order=None, include=()):
        """Returns a response when the post only edits the lines; None for "Save"."""
        data = self.request.POST
        remove = id_param(data.get("remove_line"))
        if not ("add_line" in data or remove is not None or "recalc" in data):
            return None
        edits = "add_line" in data or remove is not None
        data = lines_data_edit(data, add="add_line" in data, remove=remove)
        order_form, formset = self.forms(customer, data, include=include)
        if formset.is_valid() and order_form.is_valid():
            formset.fill_prices(order_form.cleaned_data["currency"])
        return self.render_page(
            customer, order_form, formset, order, part="lines" if edits else "totals"
        )

    def save(self, customer, write, order=None, include=()):
        order_form, formset = self.forms(customer, self.request.POST, include=include)
        if order_form.is_valid() and formset.is_valid():
            try:
                saved = write(order_form, formset)
            except ValidationError as exc:
                _apply_errors(order_form, formset, exc, formset.line_indexes())
            else:
                return redirect(saved)
        return self.render_page(customer, order_form, formset, order)


class OrderCreateView(PicksCustomerMixin, _OrderFormMixin, View):
    permission_required = "sales.add_order"
    pick_title = gettext_lazy("New order")

    def customer(self) -> Customer:
        return customer_param_editable_or_404(self.request)

    def opportunity(self, customer: Customer) -> Opportunity | None:
        """The won opportunity this order comes from (?opportunity=ID), if any."""
        raw = self.request.GET.get("opportunity", "")
        if not raw:
            return None
        pk = id_param(raw)
        found = visible_opportunities(self.request.user).filter(customer=customer)
        opportunity = found.filter(pk=pk).first() if pk is not None else None
        if opportunity is None:
            raise Http404
        return opportunity

    def page_context(self, customer: Customer) -> dict:
        return {"opportunity": self.opportunity(customer)}

    def get(self, request):
        customer = self.customer()
        opportunity = self.opportunity(customer)
        initial = {
            "salesperson": (opportunity.owner_id if opportunity else None)
            or customer.owner_id
            or request.user.pk,
            "ordered_at": timezone.localtime().replace(second=0, microsecond=0),
            "status": OrderStatus.PENDING,
            "currency": "CNY",
        }
        lines = [{}]
        if opportunity is not None:
            lines = [{"description": opportunity.title, "quantity": "1",
                      "unit_price": f"{opportunity.amount}"}]  # fmt: skip
        order_form, formset = self.forms(customer, initial=initial, lines=lines)
        return self.render_page(customer, order_form, formset)

    def post(self, request):
        customer = self.customer()
        opportunity = self.opportunity(customer)
        response = self.post_lines(customer)
        if response is not None:
            return response

        def write(order_form, formset):
            order = order_create(
                actor=request.user,
                customer_id=customer.pk,
                data=order_form.service_data(),
                lines=formset.line_inputs(),
                opportunity_id=opportunity.pk if opportunity else None,
                request=request,
            )
            messages.success(request, _("Order %(number)s is saved.") % {"number": order.number})
            return order

        return self.save(customer, write)


def _order_or_404(user, pk: int) -> Order:
    try:
        return order_get(user, pk)
    except Order.DoesNotExist:
        raise Http404 from None


class OrderUpdateView(_OrderFormMixin, View):
    permission_required = "sales.change_order"
    creating = False

    def order(self, pk: int) -> Order:
        order = _order_or_404(self.request.user, pk)
        if not editable_customers(self.request.user).filter(pk=order.customer_id).exists():
            raise Http404
        return order

    def _include(self, order):
        return {line.product_id for line in order.lines.all() if line.product_id}

    def get(self, request, pk: int):
        order = self.order(pk)
        if not order.lines_editable:
            messages.error(request, _("Only orders waiting for payment can be changed."))
            return redirect(order)
        initial = {
            "salesperson": order.salesperson_id,
            "ordered_at": timezone.localtime(order.ordered_at),
            "currency": order.currency,
            "exchange_rate": "" if order.currency == "CNY" else order.exchange_rate.normalize(),
            "notes": order.notes,
            "version": order.version,
        }
        order_form, formset = self.forms(
            order.customer,
            initial=initial,
            lines=lines_initial(order),
            include=self._include(order),
        )
        return self.render_page(order.customer, order_form, formset, order)

    def post(self, request, pk: int):
        order = self.order(pk)
        include = self._include(order)
        response = self.post_lines(order.customer, order, include)
        if response is not None:
            return response

        def write(order_form, formset):
            saved = order_update(
                actor=request.user,
                order_id=order.pk,
                version=order_form.cleaned_data.get("version") or 0,
                data=order_form.service_data(),
                lines=formset.line_inputs(),
                request=request,
            )
            messages.success(request, _("Your changes are saved."))
            return saved

        return self.save(order.customer, write, order, include)


class OrderDetailView(LoginRequiredMixin, PermissionRequiredMixin, TemplateView):
    permission_required = "sales.view_order"
    template_name = "sales/order_detail.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        order = _order_or_404(user, self.kwargs["pk"])
        can_change = (
            user.has_perm("sales.change_order") and customer_access(user, order.customer).can_edit
        )
        return super().get_context_data(
            order=order,
            customer=order.customer,
            can_change=can_change,
            can_refund=can_change and user.has_perm("sales.refund_order") and order.refundable > 0,
            refund_form=RefundForm(),
            **kwargs,
        )


class StatusChangeView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """POST `status`: the service moves the object; a refusal comes back as a message
    on its page, and an object out of reach answers 404."""

    def load(self, user, pk: int):
        raise NotImplementedError

    def change(self, *, actor, pk: int, status: str, request) -> None:
        raise NotImplementedError

    done = ""

    def post(self, request, pk: int):
        target = self.load(request.user, pk)
        try:
            self.change(actor=request.user, pk=target.pk, status=request.POST.get("status", ""),
                        request=request)  # fmt: skip
        except ValidationError as exc:
            if exc.code == "forbidden":
                raise Http404 from None
            messages_error(request, exc)
        else:
            messages.success(request, self.done)
        return redirect(target)


class OrderStatusView(StatusChangeView):
    permission_required = "sales.change_order"

    def load(self, user, pk: int):
        return _order_or_404(user, pk)

    def change(self, *, actor, pk: int, status: str, request) -> None:
        order_status_change(actor=actor, order_id=pk, status=status, request=request)
        self.done = _("The order's status is changed.")


class RefundCreateView(LoginRequiredMixin, PermissionRequiredMixin, View):
    permission_required = "sales.refund_order"

    def post(self, request, pk: int):
        order = _order_or_404(request.user, pk)
        form = RefundForm(request.POST)
        if form.is_valid():
            try:
                refund_create(
                    actor=request.user,
                    order_id=order.pk,
                    amount=form.cleaned_data["amount"],
                    reason=form.cleaned_data["reason"],
                    request=request,
                )
            except ValidationError as exc:
                if getattr(exc, "code", None) == "forbidden":
                    raise Http404 from None
                form.add_error(None, exc)
            else:
                messages.success(request, _("The refund is recorded."))
                return redirect(order)
        order = _order_or_404(request.user, pk)
        return render(
            request,
            "sales/order_detail.html",
            {
                "order": order,
                "customer": order.customer,
                "can_change": True,
                "can_refund": True,
                "refund_form": form,
            },
        )
