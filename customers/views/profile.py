"""Customer pages. Reads through the selectors, writes through the services; a
customer outside the user's scope answers 404."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext
from django.views import View
from django.views.generic import FormView, ListView, TemplateView
from django_filters.views import FilterView

from crm.htmx import HtmxPartialMixin, htmx_redirect
from crm.messages import messages_error
from crm.pagination import PeekPaginator
from crm.search import kept_query
from customers import ownership
from customers.conflict import OwnDuplicate
from customers.filters import CustomerFilter
from customers.forms import BulkAction, CollaboratorForm, ContactForm, CustomerForm
from customers.models import Customer, FreshnessPolicy
from customers.panels import panels_context
from customers.pool import recycle_clocks
from customers.quality import RULES
from customers.segments import segments_visible
from customers.selectors import (
    customer_360,
    customer_list,
    deleted_customers,
    quality_by_owner,
    quality_by_team,
)
from customers.services import contacts, lifecycle, records
from customers.views.base import editable_customer_or_404, visible_customer_or_404
from customers.views.pool import detail_pool_context

_get_visible = visible_customer_or_404
_get_editable = editable_customer_or_404


class CustomerListView(HtmxPartialMixin, LoginRequiredMixin, PermissionRequiredMixin, FilterView):
    permission_required = "customers.view_customer"
    filterset_class = CustomerFilter
    template_name = "customers/customer_list.html"
    htmx_partial = "results"
    paginate_by = 50
    paginator_class = PeekPaginator

    def get_queryset(self):
        return customer_list(self.request.user)

    def get_filterset_kwargs(self, filterset_class):
        kwargs = {**super().get_filterset_kwargs(filterset_class), "user": self.request.user}
        query = kept_query(self.request)  # "see all" from the top-bar search
        if query is not None:
            data = kwargs["data"].copy()
            data.pop("k", None)
            data["q"] = query
            kwargs["data"] = data
        return kwargs

    def get_context_data(self, **kwargs):
        user = self.request.user

        segment_id = self.request.GET.get("segment", "")
        segment = None
        if segment_id.isascii() and segment_id.isdigit() and len(segment_id) <= 18:
            segment = segments_visible(user).filter(pk=int(segment_id)).first()
        first_row = {"q", "owner", "stage", "is_key_account", "sort", "page", "segment"}
        context = super().get_context_data(
            segment=segment,
            more_filters_open=any(
                value for key, value in self.request.GET.items() if key not in first_row
            ),
            bulk_form=BulkAction(user=user),
            can_bulk=user.has_perm("customers.change_customer"),
            can_add=user.has_perm("customers.add_customer"),
            **kwargs,
        )
        # Days until recycle: the page's owned rows, in one pass (customers.pool).
        rows = context["page_obj"].object_list if context.get("page_obj") else []
        clocks = recycle_clocks([c.pk for c in rows if c.owner_id is not None])
        for customer in rows:
            customer.clock = clocks.get(customer.pk)
        return context


class CustomerBulkView(LoginRequiredMixin, PermissionRequiredMixin, View):
    permission_required = "customers.change_customer"

    def post(self, request):
        form = BulkAction(request.POST, user=request.user)
        back = request.POST.get("back", "")
        target = reverse("customers:list") + (f"?{back}" if back and "\n" not in back else "")
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, error)
            return redirect(target)
        data = form.cleaned_data
        try:
            if data["action"] == BulkAction.ASSIGN:
                count = ownership.customers_assign(
                    actor=request.user,
                    customer_ids=data["ids"],
                    owner=data["owner"],
                    note=data["note"],
                    release_reason=data["release_reason"],
                    request=request,
                )
            else:
                count = records.customers_tag(
                    actor=request.user,
                    customer_ids=data["ids"],
                    tag_name=data["tag"],
                    remove=data["action"] == BulkAction.TAG_REMOVE,
                    request=request,
                )
        except ValidationError as exc:
            messages_error(request, exc)
            return redirect(target)
        messages.success(
            request,
            ngettext("%(count)d customer changed.", "%(count)d customers changed.", count)
            % {"count": count},
        )
        return redirect(target)


class CustomerCreateView(LoginRequiredMixin, PermissionRequiredMixin, FormView):
    permission_required = "customers.add_customer"
    form_class = CustomerForm
    template_name = "customers/customer_form.html"

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def get_initial(self):
        return {"owner": self.request.user.pk, "kind": self.request.GET.get("kind", "person")}

    def form_valid(self, form):
        try:
            customer = records.customer_create(
                actor=self.request.user, data=form.service_data(), request=self.request
            )
        except OwnDuplicate as exc:
            form.add_error(None, exc)
            return self.render_to_response(
                self.get_context_data(form=form, own_duplicates=exc.matches)
            )
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.form_invalid(form)
        messages.success(
            self.request, _("Customer %(number)s is created.") % {"number": customer.number}
        )
        return redirect(customer)


class CustomerDetailView(LoginRequiredMixin, TemplateView):
    template_name = "customers/customer_detail.html"

    def get_context_data(self, **kwargs):
        try:
            profile = customer_360(user=self.request.user, customer_id=self.kwargs["pk"])
        except Customer.DoesNotExist:
            raise Http404 from None
        user = self.request.user
        return super().get_context_data(
            profile=profile,
            customer=profile.customer,
            access=profile.access,
            quality_missing=profile.quality_missing,
            contact_form=ContactForm(),
            collaborator_form=CollaboratorForm(user=user),
            base_url=self.request.build_absolute_uri("/"),
            **detail_pool_context(user, profile.customer, profile.access),
            **panels_context(self.request, profile),
            **kwargs,
        )


class CustomerRevealView(LoginRequiredMixin, View):
    """Shows the full phones, e-mails and street to those allowed, and logs it."""

    def post(self, request, pk: int):
        try:
            profile = customer_360(user=request.user, customer_id=pk)
        except Customer.DoesNotExist:
            raise Http404 from None
        try:
            records.customer_reveal(actor=request.user, customer=profile.customer, request=request)
        except ValidationError:
            raise Http404 from None
        context = {
            "profile": profile,
            "customer": profile.customer,
            "access": profile.access,
            "revealed": True,
        }
        if request.htmx:
            return render(request, "customers/customer_detail.html#contact-details", context)
        return redirect(profile.customer)


class CustomerUpdateView(LoginRequiredMixin, FormView):
    form_class = CustomerForm
    template_name = "customers/customer_form.html"

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return super().dispatch(request, *args, **kwargs)
        self.customer = _get_editable(request.user, kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, *args, **kwargs):
        # The form shows full personal values: for a non-owner that is a reveal.
        records.customer_reveal(
            actor=request.user, customer=self.customer, reason="edit", request=request
        )
        return super().get(request, *args, **kwargs)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user, "customer": self.customer}

    def get_initial(self):
        return CustomerForm.initial_for(self.customer)

    def get_context_data(self, **kwargs):
        return super().get_context_data(customer=self.customer, **kwargs)

    def form_valid(self, form):
        try:
            customer = records.customer_update(
                actor=self.request.user,
                customer_id=self.customer.pk,
                data=form.service_data(),
                version=form.cleaned_data.get("version") or 0,
                request=self.request,
            )
        except records.CustomerConflict as conflict:
            return self._conflict(form, conflict)
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.form_invalid(form)
        messages.success(self.request, _("Your changes are saved."))
        return redirect(customer)

    def _conflict(self, form, conflict):
        current = conflict.customer
        form.data = form.data.copy()
        form.data["version"] = current.version  # saving again applies the user's values
        form.add_error(None, conflict)
        current_values = CustomerForm.initial_for(current)
        rows = []
        for name, who in conflict.changed.items():
            field = form.fields.get(name)
            label = field.label if field else Customer._meta.get_field(name).verbose_name
            if field is None:
                now = ""
            elif name == "owner":
                now = current.owner or pgettext("owner", "Nobody: shared pool")
            elif name in ("phones", "emails", "tags"):
                now = current_values[name]
            else:
                now = getattr(current, name, "")
                if hasattr(current, f"get_{name}_display"):
                    now = getattr(current, f"get_{name}_display")()
            rows.append(
                {
                    "label": label,
                    "who": "、".join(who),
                    "now": now,
                    "yours": form.data.get(name, ""),
                }
            )
        return self.render_to_response(self.get_context_data(form=form, conflict_rows=rows))


class CustomerVerifyView(LoginRequiredMixin, View):
    def post(self, request, pk: int):
        customer = _get_editable(request.user, pk)
        try:
            records.customer_verify(actor=request.user, customer_id=customer.pk, request=request)
        except ValidationError:
            raise Http404 from None  # deleted or reassigned a moment ago
        messages.success(request, _("The record is marked as verified today."))
        return redirect(customer)


def _get_deletable(user, pk: int) -> Customer:
    if not user.has_perm("customers.delete_customer"):
        raise Http404
    return _get_editable(user, pk)


class CustomerDeleteView(LoginRequiredMixin, TemplateView):
    template_name = "customers/customer_confirm_delete.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            customer=_get_deletable(self.request.user, self.kwargs["pk"]), **kwargs
        )

    def post(self, request, pk: int):
        customer = _get_deletable(request.user, pk)
        try:
            lifecycle.customer_delete(actor=request.user, customer_id=customer.pk, request=request)
        except ValidationError:
            raise Http404 from None  # deleted or reassigned a moment ago
        messages.success(
            request,
            _("%(customer)s is deleted. A data steward can restore it.") % {"customer": customer},
        )
        return redirect("customers:list")


class DeletedCustomerListView(LoginRequiredMixin, PermissionRequiredMixin, ListView):
    permission_required = "customers.restore_customer"
    template_name = "customers/customer_deleted_list.html"
    paginate_by = 50
    paginator_class = PeekPaginator

    def get_queryset(self):
        return deleted_customers(self.request.user)


class CustomerRestoreView(LoginRequiredMixin, PermissionRequiredMixin, View):
    permission_required = "customers.restore_customer"

    def post(self, request, pk: int):
        try:
            customer = lifecycle.customer_restore(
                actor=request.user, customer_id=pk, request=request
            )
        except ValidationError as exc:
            messages_error(request, exc)
            return redirect("customers:deleted")
        messages.success(request, _("%(customer)s is restored.") % {"customer": customer})
        return redirect(customer)


class ContactFormView(HtmxPartialMixin, LoginRequiredMixin, View):
    """Add or edit a contact in place on the customer page (htmx), or as a page."""

    template_name = "customers/contact_form.html"
    htmx_partial = "contact-form"

    def _contact(self, customer, contact_id):
        if contact_id is None:
            return None
        contact = customer.contacts.filter(pk=contact_id).first()
        if contact is None:
            raise Http404
        return contact

    def get(self, request, pk: int, contact_id: int | None = None):
        customer = _get_editable(request.user, pk)
        contact = self._contact(customer, contact_id)
        initial = {}
        if contact is not None:
            records.customer_reveal(
                actor=request.user, customer=customer, reason="edit", request=request
            )
            initial = ContactForm.initial_for(contact)
        form = ContactForm(initial=initial)
        return self._render(request, customer, contact, form)

    def post(self, request, pk: int, contact_id: int | None = None):
        customer = _get_editable(request.user, pk)
        contact = self._contact(customer, contact_id)
        form = ContactForm(request.POST)
        if form.is_valid():
            try:
                contacts.contact_save(
                    actor=request.user,
                    customer_id=customer.pk,
                    contact_id=contact.pk if contact else None,
                    data=form.cleaned_data,
                    request=request,
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("The contact is saved."))
                return htmx_redirect(request, customer.get_absolute_url() + "#contacts")
        return self._render(request, customer, contact, form)

    def _render(self, request, customer, contact, form):
        return self.render_part({"customer": customer, "contact": contact, "form": form})


class ContactDeleteView(LoginRequiredMixin, View):
    def post(self, request, pk: int, contact_id: int):
        customer = _get_editable(request.user, pk)
        contacts.contact_delete(
            actor=request.user, customer_id=customer.pk, contact_id=contact_id, request=request
        )
        messages.success(request, _("The contact is removed."))
        return redirect(customer.get_absolute_url() + "#contacts")


class CollaboratorAddView(LoginRequiredMixin, View):
    def post(self, request, pk: int):
        customer = _get_editable(request.user, pk)
        form = CollaboratorForm(request.POST, user=request.user)
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, error)
            return redirect(customer.get_absolute_url() + "#collaborators")
        try:
            contacts.collaborator_add(
                actor=request.user,
                customer_id=customer.pk,
                user=form.cleaned_data["user"],
                access=form.cleaned_data["access"],
                role=form.cleaned_data["role"],
                request=request,
            )
        except ValidationError as exc:
            messages_error(request, exc)
        else:
            messages.success(
                request,
                _("%(user)s now works on this customer.") % {"user": form.cleaned_data["user"]},
            )
        return redirect(customer.get_absolute_url() + "#collaborators")


class CollaboratorRemoveView(LoginRequiredMixin, View):
    def post(self, request, pk: int, collaborator_id: int):
        customer = _get_editable(request.user, pk)
        try:
            contacts.collaborator_remove(
                actor=request.user,
                customer_id=customer.pk,
                collaborator_id=collaborator_id,
                request=request,
            )
        except ValidationError as exc:
            messages_error(request, exc)
        return redirect(customer.get_absolute_url() + "#collaborators")


class QualityView(LoginRequiredMixin, PermissionRequiredMixin, TemplateView):
    """Data quality per owner, for stewards (every owner) and managers (their teams)."""

    permission_required = "customers.view_customer"
    template_name = "customers/quality.html"

    def get_context_data(self, **kwargs):
        rows = quality_by_owner(self.request.user)
        return super().get_context_data(
            rows=rows, teams=quality_by_team(rows), rules=RULES,
            policy=FreshnessPolicy.current(), **kwargs,
        )  # fmt: skip
