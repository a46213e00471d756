"""Duplicate finder, merge and undo pages (data stewards). Thin: customers.merge does the work."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View

from crm.messages import messages_error
from customers import merge
from customers.models import Customer
from customers.selectors import visible_customers

# Personal or narrow-permission values are compared without being shown.
HIDDEN = {"street", "financial_status", "risk_preference"}


class DuplicateListView(LoginRequiredMixin, PermissionRequiredMixin, View):
    permission_required = "customers.merge_customers"

    def get(self, request):
        return render(
            request,
            "customers/duplicates.html",
            {
                "pairs": merge.duplicate_pairs(request.user),
                "merges": merge.merges_recent(request.user),
                "limit": merge.FINDER_LIMIT,
            },
        )


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Http404 from None


class MergeView(LoginRequiredMixin, PermissionRequiredMixin, View):
    permission_required = "customers.merge_customers"

    def _pair(self, request, source):
        ids = [_int(source.get("keep")), _int(source.get("other"))]
        found = {c.pk: c for c in visible_customers(request.user).filter(pk__in=ids)}
        if len(found) != 2:
            raise Http404
        return found[ids[0]], found[ids[1]]

    def get(self, request):
        keep, other = self._pair(request, request.GET)
        rows = []
        for name in merge.MERGE_FIELDS:
            mine, theirs = getattr(keep, name), getattr(other, name)
            if mine == theirs or theirs in (None, "", False, []):
                continue
            field = Customer._meta.get_field(name)
            display = getattr(keep, f"get_{name}_display", None)
            other_display = getattr(other, f"get_{name}_display", None)
            if name in HIDDEN:
                mine, theirs = (_("(hidden)") if mine else ""), _("(hidden)")
            elif field.choices:
                mine, theirs = display(), other_display()
            rows.append(
                {
                    "name": name,
                    "label": field.verbose_name,
                    "mine": mine,
                    "theirs": theirs,
                    "joined": name in (*merge.LIST_FIELDS, "notes"),
                    "empty": mine in (None, "", False, []),
                }
            )
        context = {"keep": keep, "other": other, "rows": rows}
        return render(request, "customers/merge.html", context)

    def post(self, request):
        keep, other = self._pair(request, request.POST)
        take = {name: request.POST.get(f"take_{name}") == "other" for name in merge.MERGE_FIELDS}
        try:
            merge.customers_merge(
                actor=request.user,
                survivor_id=keep.pk,
                merged_id=other.pk,
                take=take,
                request=request,
            )
        except ValidationError as exc:
            messages_error(request, exc)
            return redirect("customers:duplicates")
        messages.success(
            request,
            _("%(other)s is merged into %(keep)s; a steward can undo it from the duplicates page.")
            % {"other": other.number, "keep": keep.number},
        )
        return redirect(keep)


class DismissView(LoginRequiredMixin, PermissionRequiredMixin, View):
    permission_required = "customers.merge_customers"

    def post(self, request):
        try:
            merge.duplicate_dismiss(
                actor=request.user,
                first_id=_int(request.POST.get("first")),
                second_id=_int(request.POST.get("second")),
                request=request,
            )
        except ValidationError as exc:
            messages_error(request, exc)
        return redirect("customers:duplicates")


class UnmergeView(LoginRequiredMixin, PermissionRequiredMixin, View):
    permission_required = "customers.merge_customers"

    def post(self, request, pk):
        try:
            record = merge.customers_unmerge(actor=request.user, merge_id=pk, request=request)
        except ValidationError as exc:
            messages_error(request, exc)
            return redirect("customers:duplicates")
        messages.success(
            request,
            _("The merge is undone: %(a)s and %(b)s are two customers again.")
            % {"a": record.survivor.number, "b": record.merged.number},
        )
        return redirect("customers:duplicates")
