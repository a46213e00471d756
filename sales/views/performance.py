"""The performance page and the monthly targets form. Thin: sales.performance
decides whose figures the viewer may see and computes them."""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views import View

from customers.filters import month_bounds
from sales import performance as perf
from sales.models import SalesTarget

MAX_MONTHS = 36


def _month(value: str) -> datetime.date | None:
    bounds = month_bounds(value or "")
    return bounds[0].date() if bounds else None


def _quick_ranges(today: datetime.date) -> list[tuple[str, datetime.date, datetime.date]]:
    """(label, first month, last month) of the usual periods."""
    this = today.replace(day=1)
    last = (this - datetime.timedelta(days=1)).replace(day=1)
    quarter = this.replace(month=3 * ((this.month - 1) // 3) + 1)
    year = this.replace(month=1)
    twelve = perf.months_between(this.replace(year=this.year - 1), this)[1]
    return [
        (pgettext("period", "This month"), this, this),
        (pgettext("period", "Last month"), last, last),
        (pgettext("period", "This quarter"), quarter, this),
        (pgettext("period", "This year"), year, this),
        (pgettext("period", "Last 12 months"), twelve, this),
    ]


class PerformanceView(LoginRequiredMixin, View):
    template_name = "sales/performance.html"

    def get(self, request):
        viewer = request.user
        subject = perf.subject_for(viewer, request.GET.get("who", "me"))
        if subject is None:
            raise Http404
        today = timezone.localdate()
        first = _month(request.GET.get("from", "")) or today.replace(day=1)
        last = _month(request.GET.get("to", "")) or first
        if last < first:
            messages.error(request, _("The period ends before it starts; showing its first month."))
            last = first
        months = perf.months_between(first, perf.month_after(last))
        if len(months) > MAX_MONTHS:
            messages.error(
                request, _("A period is at most %(max)d months long.") % {"max": MAX_MONTHS}
            )
            first = months[-MAX_MONTHS]
        result = perf.performance(subject, first, perf.month_after(last))
        context = {
            "result": result,
            "subject": subject,
            "subjects": perf.performance_subjects(viewer),
            "first": first,
            "last": last,
            "quick": [(label, f"{a:%Y-%m}", f"{b:%Y-%m}") for label, a, b in _quick_ranges(today)],
            "can_set_targets": bool(perf.target_subjects(viewer)),
        }
        return render(request, self.template_name, context)


class TargetsView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """One month's revenue targets for the teams one manages and their members."""

    permission_required = "sales.change_salestarget"
    template_name = "sales/targets.html"

    def _month(self, request) -> datetime.date:
        return _month(request.GET.get("month", "")) or timezone.localdate().replace(day=1)

    def _render(self, request, month, values=None, errors=None, status=200):
        subjects = perf.target_subjects(request.user)
        current = {
            (f"team-{t.team_id}" if t.team_id else f"user-{t.user_id}"): t.revenue
            for t in SalesTarget.objects.filter(month=month)
        }
        rows = [
            {
                "subject": subject,
                "value": (values or {}).get(subject.key, current.get(subject.key, "")),
                "errors": (errors or {}).get(subject.key, []),
            }
            for subject in subjects
        ]
        context = {"month": month, "rows": rows, "month_value": f"{month:%Y-%m}"}
        return render(request, self.template_name, context, status=status)

    def get(self, request):
        return self._render(request, self._month(request))

    def post(self, request):
        month = self._month(request)
        values = {
            key.removeprefix("target-"): value.strip()
            for key, value in request.POST.items()
            if key.startswith("target-")
        }
        try:
            changed = perf.targets_save(
                actor=request.user, month=month, values=values, request=request
            )
        except ValidationError as exc:
            if getattr(exc, "code", None) == "forbidden":
                raise Http404 from None
            errors = {key: [str(m) for e in errs for m in e.messages] for key, errs in
                      exc.error_dict.items()}  # fmt: skip
            return self._render(request, month, values, errors)
        messages.success(
            request,
            _("Targets for %(month)s are saved (%(count)d changed).")
            % {"month": f"{month:%Y-%m}", "count": changed},
        )
        return redirect(f"{reverse('sales:targets')}?month={month:%Y-%m}")
