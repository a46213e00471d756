"""Contract pages: the list, the form (with the signed file), a contract's page and
the signed file itself, served only to those who may see the customer."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.http import FileResponse, Http404
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.generic import FormView, TemplateView

from customers.selectors import customer_access, people_for_customer
from customers.views.base import (
    FilteredListView,
    PicksCustomerMixin,
    customer_param_editable_or_404,
)
from sales import contracts
from sales.filters import ContractFilter
from sales.forms import ContractForm, service_errors
from sales.models import Contract
from sales.selectors import (
    contract_get,
    contract_list,
    visible_contracts,
    visible_opportunities,
)
from sales.views.orders import StatusChangeView


class UploadLimit(FileUploadHandler):
    """Drops the files of a request larger than the limit as they stream in, so a
    200 MB upload costs neither memory nor disk; the view then says so next to the
    field (`request.upload_too_big` holds the size)."""

    def __init__(self, request, limit: int):
        super().__init__(request)
        self.limit = limit
        self.dropping = False

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        # The form's other fields are a few kB: the body's length tells the file's.
        self.dropping = content_length > self.limit + 256 * 1024
        if self.dropping:
            self.request.upload_too_big = content_length

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        if self.dropping:
            raise SkipFile

    def receive_data_chunk(self, raw_data, start):
        return raw_data

    def file_complete(self, file_size):
        return None


def _contract_or_404(user, pk: int) -> Contract:
    try:
        return contract_get(user, pk)
    except Contract.DoesNotExist:
        raise Http404 from None


class ContractListView(FilteredListView):
    permission_required = "sales.view_contract"
    filterset_class = ContractFilter
    template_name = "sales/contract_list.html"

    def get_queryset(self):
        return contract_list(self.request.user)


class _ContractFormView(LoginRequiredMixin, PermissionRequiredMixin, FormView):
    form_class = ContractForm
    template_name = "sales/contract_form.html"
    contract = None

    def get_form_kwargs(self):
        opportunities = visible_opportunities(self.request.user).filter(customer=self.customer)
        return {
            **super().get_form_kwargs(),
            "owners": people_for_customer(self.request.user, self.customer),
            "opportunities": opportunities.order_by("-created_at"),
        }

    def get_context_data(self, **kwargs):
        return super().get_context_data(customer=self.customer, contract=self.contract, **kwargs)

    @method_decorator(csrf_exempt)
    def dispatch(self, request, *args, **kwargs):
        # The size guard must come before anything reads the body (the CSRF check
        # does), so the CSRF check is made here, once the guard is in place.
        request.upload_handlers.insert(0, UploadLimit(request, settings.CONTRACT_FILE_MAX_BYTES))
        return csrf_protect(self._dispatch)(request, *args, **kwargs)

    def _dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            self.load(request, kwargs)
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form):
        if getattr(self.request, "upload_too_big", None):
            return self.form_invalid(form)
        return self.write_and_redirect(form)

    def form_invalid(self, form):
        too_big = getattr(self.request, "upload_too_big", None)
        if too_big and "signed_file" not in form.errors:  # said with the other problems
            form.add_error("signed_file", contracts.upload_too_big(too_big))
        return super().form_invalid(form)

    def write_and_redirect(self, form):
        try:
            contract = self.write(form, form.cleaned_data.get("signed_file"))
        except ValidationError as exc:
            if getattr(exc, "code", None) in ("too_big", "file_type", "file_name", "file_storage"):
                form.add_error("signed_file", exc)
            else:
                service_errors(form, exc)
            return self.form_invalid(form)
        messages.success(
            self.request, _("Contract %(number)s is saved.") % {"number": contract.number}
        )
        return redirect(contract)


class ContractCreateView(PicksCustomerMixin, _ContractFormView):
    permission_required = "sales.add_contract"
    pick_title = gettext_lazy("New contract")

    def load(self, request, kwargs) -> None:
        self.customer = customer_param_editable_or_404(request)

    def get_initial(self):
        return {
            "owner": self.customer.owner_id or self.request.user.pk,
            "start_date": timezone.localdate(),
            "renewal_notice_days": 30,
        }

    def write(self, form, upload):
        return contracts.contract_create(
            actor=self.request.user,
            customer_id=self.customer.pk,
            data=form.service_data(),
            upload=upload,
            request=self.request,
        )


class ContractUpdateView(_ContractFormView):
    permission_required = "sales.change_contract"

    def load(self, request, kwargs) -> None:
        self.contract = _contract_or_404(request.user, kwargs["pk"])
        self.customer = self.contract.customer
        if not customer_access(request.user, self.customer).can_edit:
            raise Http404

    def get_initial(self):
        return ContractForm.initial_for(self.contract)

    def write(self, form, upload):
        return contracts.contract_update(
            actor=self.request.user,
            contract_id=self.contract.pk,
            version=form.cleaned_data.get("version") or 0,
            data=form.service_data(),
            upload=upload,
            request=self.request,
        )


class ContractDetailView(LoginRequiredMixin, PermissionRequiredMixin, TemplateView):
    permission_required = "sales.view_contract"
    template_name = "sales/contract_detail.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        contract = _contract_or_404(user, self.kwargs["pk"])
        can_change = (
            user.has_perm("sales.change_contract")
            and customer_access(user, contract.customer).can_edit
        )
        return super().get_context_data(
            contract=contract,
            customer=contract.customer,
            can_change=can_change,
            moves=contracts.STATUS_MOVES.get(contract.status, ()) if can_change else (),
            **kwargs,
        )


class ContractStatusView(StatusChangeView):
    permission_required = "sales.change_contract"

    def load(self, user, pk: int):
        return _contract_or_404(user, pk)

    def change(self, *, actor, pk: int, status: str, request) -> None:
        contracts.contract_status_change(
            actor=actor, contract_id=pk, status=status, request=request
        )
        self.done = _("The contract's status is changed.")


class ContractFileView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """The signed file, to whoever sees the contract's customer; 404 to anyone else."""

    permission_required = "sales.view_contract"

    def get(self, request, pk: int):
        contract = visible_contracts(request.user).filter(pk=pk).first()
        if contract is None or not contract.signed_file:
            raise Http404
        try:
            handle = contract.signed_file.open("rb")
        except FileNotFoundError:
            raise Http404 from None
        contracts.contract_file_opened(actor=request.user, contract=contract, request=request)
        response = FileResponse(
            handle,
            as_attachment=request.GET.get("inline") != "1",
            filename=contract.file_name or "contract",
            content_type=contract.file_type or "application/octet-stream",
        )
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        response["Content-Security-Policy"] = "sandbox; default-src 'none'"
        return response
