"""Import wizard, export and the register template. Thin: the work is in
customers.import_jobs, customers.imports (with its workbook_template) and
customers.exports."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views import View

from crm.htmx import HtmxPartialMixin
from crm.models import ImportJob, ImportStatus
from crm.sheets.reader import size_check
from crm.sheets.sheet import SheetError
from crm.sheets.writer import XLSX_TYPE, attachment, csv_stream, xlsx_bytes, xlsx_stream
from customers import import_jobs
from customers.exports import EXPORT_COLUMNS, customers_export_rows, export_language
from customers.filters import CustomerFilter
from customers.forms import ImportMappingForm, ImportUploadForm, ImportValuesForm
from customers.imports import rejected_rows, warned_rows, warnings_json
from customers.imports.workbook_template import register_template
from customers.selectors import customer_list


def _job(user, pk: int) -> ImportJob:
    job = import_jobs.import_jobs_visible(user).filter(pk=pk).first()
    if job is None:
        raise Http404
    return job


class TemplateDownloadView(LoginRequiredMixin, View):
    def get(self, request):
        language = export_language(translation.get_language() or "zh-hans")
        response = HttpResponse(register_template(language), content_type=XLSX_TYPE)
        name = "客户管理簿模板.xlsx" if language != "en" else "customer-register-template.xlsx"
        response["Content-Disposition"] = attachment(name)
        return response


class ImportPermissionMixin(LoginRequiredMixin, PermissionRequiredMixin):
    """The wizard is open to whoever may import something (customers, orders); each
    job checks its own kind's permission."""

    def has_permission(self) -> bool:
        return bool(import_jobs.import_kinds_for(self.request.user))


class ImportUploadView(ImportPermissionMixin, View):
    template_name = "customers/import_upload.html"

    def _render(self, request, form):
        jobs = import_jobs.import_jobs_visible(request.user)[:20]
        return render(request, self.template_name, {"form": form, "jobs": jobs})

    def get(self, request):
        form = ImportUploadForm(user=request.user)
        if request.GET.get("kind") in dict(form.fields["kind"].choices):
            form.initial["kind"] = request.GET["kind"]
        return self._render(request, form)

    def post(self, request):
        form = ImportUploadForm(request.POST, request.FILES, user=request.user)
        if not form.is_valid():
            return self._render(request, form)
        upload = form.cleaned_data["file"]
        try:
            size_check(upload.size)
            job = import_jobs.import_job_create(
                actor=request.user,
                name=upload.name,
                file=upload.file,  # read a piece at a time: never whole in memory
                kind=form.cleaned_data["kind"],
            )
        except SheetError as exc:
            form.add_error("file", exc.message)
            return self._render(request, form)
        return redirect("customers:import_job", pk=job.pk)  # until a worker has read it


class ImportStepMixin(ImportPermissionMixin):
    """A step before the commit: open while the job waits for its settings."""

    def _editable(self, request, pk):
        job = _job(request.user, pk)
        if job.status != ImportStatus.UPLOADED:
            return job, redirect("customers:import_job", pk=job.pk)
        return job, None


class ImportMappingView(ImportStepMixin, View):
    template_name = "customers/import_mapping.html"

    def _render(self, request, job, form):
        examples = import_jobs.import_job_examples(job)
        columns = list(zip(form.column_fields(), examples, strict=True))
        return render(request, self.template_name, {"job": job, "form": form, "columns": columns})

    def get(self, request, pk):
        job, done = self._editable(request, pk)
        if done:
            return done
        return self._render(request, job, ImportMappingForm(job=job, user=request.user))

    def post(self, request, pk):
        job, done = self._editable(request, pk)
        if done:
            return done
        form = ImportMappingForm(request.POST, job=job, user=request.user)
        if form.is_valid():
            errors = import_jobs.import_job_configure(
                actor=request.user,
                job=job,
                mapping=form.mapping(),
                owner=form.cleaned_data.get("owner", ""),
                mode=form.cleaned_data.get("mode", ""),
            )
            if not errors:
                if import_jobs.import_job_values_step(job):
                    return redirect("customers:import_values", pk=job.pk)
                return redirect("customers:import_preview", pk=job.pk)
            for error in errors:
                form.add_error(None, error)
        return self._render(request, job, form)


class ImportValuesView(ImportStepMixin, View):
    """Each value of the choice columns, with its count and a suggestion to confirm."""

    template_name = "customers/import_values.html"

    def get(self, request, pk):
        job, done = self._editable(request, pk)
        if done:
            return done
        return render(request, self.template_name, {"job": job, "form": ImportValuesForm(job=job)})

    def post(self, request, pk):
        job, done = self._editable(request, pk)
        if done:
            return done
        form = ImportValuesForm(request.POST, job=job)
        if not form.is_valid():
            return render(request, self.template_name, {"job": job, "form": form})
        decisions, texts = form.decisions()
        import_jobs.import_job_values_save(job=job, decisions=decisions, texts=texts)
        return redirect("customers:import_preview", pk=job.pk)


class ImportPreviewView(ImportPermissionMixin, View):
    template_name = "customers/import_preview.html"

    def get(self, request, pk):
        job = _job(request.user, pk)
        if job.status != ImportStatus.UPLOADED:
            return redirect("customers:import_job", pk=job.pk)
        try:
            result = import_jobs.import_job_preview(job=job)
        except SheetError as exc:
            messages.error(request, exc.message)
            return redirect("customers:import_mapping", pk=job.pk)
        mapped = [(index, job.columns[index]) for index, key in enumerate(job.mapping) if key]
        width = len(job.columns)
        rows = [
            {
                "result": row,
                "cells": [texts[i] for i, _ in mapped],
                "warnings": [
                    (label, message) for __, label, message in warnings_json(row.warnings)
                ],
            }
            for row in result.preview
            for texts in [row.texts(width)]
        ]
        values_step = import_jobs.import_job_values_step(job)
        return render(
            request,
            self.template_name,
            {
                "job": job,
                "result": result,
                "rows": rows,
                "headers": [h for _, h in mapped],
                "values_step": values_step,
            },
        )

    def post(self, request, pk):
        job = _job(request.user, pk)
        job = import_jobs.import_job_start(actor=request.user, job=job)
        return redirect("customers:import_job", pk=job.pk)


class ImportJobView(HtmxPartialMixin, ImportPermissionMixin, View):
    template_name = "customers/import_job.html"
    htmx_partial = "status"

    def get(self, request, pk):
        job = _job(request.user, pk)
        if job.status == ImportStatus.UPLOADED:  # read: on to the columns
            mapping = reverse("customers:import_mapping", args=[job.pk])
            if request.htmx:
                return HttpResponse(headers={"HX-Redirect": mapping})
            return redirect(mapping)
        percent, rows = import_jobs.import_job_progress(job)
        context = {
            "job": job,
            "percent": percent,
            "rows": rows,
            "summary": import_jobs.KINDS[job.kind].counts_line(job.counts) if job.counts else "",
            "counts": job.counts,
        }
        return self.render_part(context)


class ImportRejectedView(ImportPermissionMixin, View):
    def get(self, request, pk):
        job = _job(request.user, pk)
        rows = rejected_rows(job.columns, import_jobs.import_job_rejected(job))
        response = HttpResponse(
            xlsx_bytes(rows, sheet_name=_("Rejected rows")), content_type=XLSX_TYPE
        )
        stem = job.file_name.rsplit(".", 1)[0]
        response["Content-Disposition"] = attachment(f"{stem}.rejected.xlsx")
        return response


class ImportWarnedView(ImportPermissionMixin, View):
    """The rows imported with warnings: original cells, customer number, one column
    per field warned about."""

    def get(self, request, pk):
        job = _job(request.user, pk)
        rows = warned_rows(job.columns, job.mapping, lambda: import_jobs.import_job_warned(job))
        response = HttpResponse(
            xlsx_bytes(rows, sheet_name=_("Imported with warnings")), content_type=XLSX_TYPE
        )
        stem = job.file_name.rsplit(".", 1)[0]
        response["Content-Disposition"] = attachment(f"{stem}.warnings.xlsx")
        return response


class CustomerExportView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """The customer list as filtered on the page, streamed as xlsx or CSV."""

    permission_required = "customers.export_customers"

    def get(self, request):
        params = request.GET.copy()
        file_format = "csv" if params.pop("format", ["xlsx"])[-1] == "csv" else "xlsx"
        params.pop("page", None)
        filterset = CustomerFilter(params, queryset=customer_list(request.user), user=request.user)
        if not filterset.is_valid():
            messages.error(request, _("The filter is not valid; nothing was exported."))
            return redirect("customers:list")
        language = export_language(translation.get_language() or "zh-hans")
        rows = customers_export_rows(
            actor=request.user,
            queryset=filterset.qs,
            language=language,
            filters={k: params.getlist(k) for k in params},
            file_format=file_format,
            request=request,
        )
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        if file_format == "csv":
            response = StreamingHttpResponse(
                csv_stream(rows), content_type="text/csv; charset=utf-8"
            )
        else:
            response = StreamingHttpResponse(
                xlsx_stream(
                    rows, sheet_name=_("Customers"), widths=[c.width for c in EXPORT_COLUMNS]
                ),
                content_type=XLSX_TYPE,
            )
        response["Content-Disposition"] = attachment(f"customers-{stamp}.{file_format}")
        return response
