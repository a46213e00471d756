"""The dashboards: the figures for a scope and a period, every chart also as
xlsx (`?download=<chart>`). Thin: dashboards.figures reads the rollups."""

from __future__ import annotations

import datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from crm.sheets.writer import XLSX_TYPE, attachment, xlsx_bytes
from dashboards import forecast as fc
from dashboards.figures import dashboard, dashboard_scopes, scope_for
from dashboards.service import sees_service, service_board, service_first
from sales.views.performance import MAX_MONTHS, _month, _quick_ranges


def _period(request, today: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The months asked for (default: the last 12), at most MAX_MONTHS long."""
    this = today.replace(day=1)
    default_first = this
    for __ in range(11):
        default_first = (default_first - datetime.timedelta(days=1)).replace(day=1)
    first = _month(request.GET.get("from", "")) or default_first
    last = _month(request.GET.get("to", "")) or this
    if last < first:
        messages.error(request, _("The period ends before it starts; showing its first month."))
        last = first
    months = 1 + (last.year - first.year) * 12 + last.month - first.month
    if months > MAX_MONTHS:
        messages.error(request, _("A period is at most %(max)d months long.") % {"max": MAX_MONTHS})
        first = last
        for __ in range(MAX_MONTHS - 1):
            first = (first - datetime.timedelta(days=1)).replace(day=1)
    return first, last


def _download(request, board, label: str, first, last) -> HttpResponse:
    """The chart named by ?download= as a workbook (404 for a chart the board lacks)."""
    chart = board.chart(request.GET["download"])
    if chart is None:
        raise Http404
    header = [chart.title, *(str(name) for name, __ in chart.series)]
    columns = [values for __, values in chart.series]
    rows = [header]
    for index, label in enumerate(chart.labels):
        rows.append([label, *(column[index] for column in columns)])
    response = HttpResponse(xlsx_bytes(rows), content_type=XLSX_TYPE)
    name = f"{chart.key}-{label}-{first:%Y-%m}-{last:%Y-%m}.xlsx"
    response["Content-Disposition"] = attachment(name)
    return response


class DashboardView(LoginRequiredMixin, PermissionRequiredMixin, View):
    permission_required = "customers.view_customer"
    template_name = "dashboards/dashboard.html"

    def get(self, request):
        viewer = request.user
        today = timezone.localdate()
        first_board = "service" if service_first(viewer) else "sales"
        tab = request.GET.get("board")
        if tab not in ("sales", "service"):
            tab = first_board
        # Both tabs for those who sell or oversee selling and may read the tickets.
        tabs = first_board == "sales" and sees_service(viewer)
        if tab == "service":
            if not sees_service(viewer):
                raise Http404
            return self._service(request, today, tabs)
        scope = scope_for(viewer, request.GET.get("who", ""))
        if scope is None:
            raise Http404
        first, last = _period(request, today)
        board = dashboard(viewer, scope, first, last)
        if request.GET.get("download"):
            return _download(request, board, scope.label, first, last)
        return render(request, self.template_name, {
            "board": board,
            "scope": scope,
            "scopes": dashboard_scopes(viewer),
            "first": first,
            "last": last,
            "today": today,
            "tabs": tabs,
            "download_query": urlencode({"who": scope.key, "from": f"{first:%Y-%m}",
                                         "to": f"{last:%Y-%m}"}),
            "charts": {chart.key: chart for chart in board.charts},
            "chart_data": [chart.data() for chart in board.charts],
            "forecast_months": fc.forecast_months(today),
            "quick": [(label, f"{a:%Y-%m}", f"{b:%Y-%m}") for label, a, b in _quick_ranges(today)],
        })  # fmt: skip

    def _service(self, request, today, tabs):
        first, last = _period(request, today)
        board = service_board(request.user, first, last)
        if request.GET.get("download"):
            return _download(request, board, _("Service"), first, last)
        return render(request, "dashboards/service.html", {
            "board": board,
            "first": first,
            "last": last,
            "today": today,
            "tabs": tabs,
            "download_query": urlencode({"board": "service", "from": f"{first:%Y-%m}",
                                         "to": f"{last:%Y-%m}"}),
            "chart_data": [chart.data() for chart in board.charts if not chart.empty],
            "quick": [(label, f"{a:%Y-%m}", f"{b:%Y-%m}") for label, a, b in _quick_ranges(today)],
        })  # fmt: skip
