"""Saved segments: the list, saving the customer list's filter under a name, a
task for every member. Thin: the rules are in customers.segments."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.http import Http404, QueryDict
from django.shortcuts import redirect, render
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from django.views import View

from crm.messages import messages_error
from customers.filters import CustomerFilter, range_day
from customers.models import Customer
from customers.segments import (
    segment_applies,
    segment_delete,
    segment_members,
    segment_query_clean,
    segment_save,
    segments_visible,
)


class SegmentForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Segment name"), max_length=100)
    shared = forms.BooleanField(
        label=gettext_lazy("Share with everyone"),
        required=False,
        help_text=gettext_lazy("Each colleague sees the members among the customers they see."),
    )
    query = forms.CharField(required=False, widget=forms.HiddenInput)


def _day(moment) -> str:
    return "…" if moment is None else date_format(range_day(moment), "Y-m-d")


def _criteria(query: str, user) -> list[tuple[str, str]]:
    """The filter in words: (label, value) for each field it sets."""
    form = CustomerFilter(QueryDict(query), user=user, queryset=Customer.objects.none()).form
    if not form.is_valid():
        return []
    shown = []
    for name, value in form.cleaned_data.items():
        if value in (None, "", [], ()) or name == "sort":
            continue
        field = form.fields[name]
        if isinstance(value, bool):
            value = pgettext("yes or no", "Yes") if value else pgettext("yes or no", "No")
        elif isinstance(value, slice):
            if value.start is None and value.stop is None:
                continue
            value = f"{_day(value.start)} – {_day(value.stop)}"
        elif hasattr(value, "__iter__") and not isinstance(value, str):
            value = ", ".join(str(item) for item in value)
        elif getattr(field, "choices", None):
            value = dict(field.choices).get(value, value)
        shown.append((str(field.label), str(value)))
    return shown


def segment_visible_or_404(request, pk: int, **mine):
    segment = segments_visible(request.user).filter(pk=pk, **mine).first()
    if segment is None:
        raise Http404
    return segment


class SegmentListView(LoginRequiredMixin, PermissionRequiredMixin, View):
    permission_required = "customers.view_segment"

    def get(self, request):
        segments = list(segments_visible(request.user))
        return render(request, "customers/segment_list.html", {
            "rows": [
                (segment, _criteria(segment.query, request.user),
                 segment_applies(segment, request.user))
                for segment in segments
            ],
        })  # fmt: skip


class SegmentCountView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """A segment's member count for the asker, loaded after the page."""

    permission_required = "customers.view_segment"

    def get(self, request, pk):
        segment = segment_visible_or_404(request, pk)
        count = segment_members(segment, request.user).count()
        return render(request, "customers/_segment_count.html", {"count": count})


class SegmentFormView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """Save the list's current filter as a new segment, or change one's name,
    sharing or (with a filter in the address) its filter."""

    permission_required = "customers.add_segment"

    def _segment(self, request, pk):
        return None if pk is None else segment_visible_or_404(request, pk, owner=request.user)

    def _query(self, request, segment) -> str:
        """The list's filter in the address (kept in the segment on save), or the
        segment's own when there is none or it does not hold."""
        kept = segment.query if segment else ""
        if not request.GET:
            return kept
        try:
            return segment_query_clean(request.GET, request.user)
        except ValidationError as error:
            messages_error(request, error)
            return kept

    def _render(self, request, form, segment, query):
        return render(request, "customers/segment_form.html", {
            "form": form, "segment": segment, "criteria": _criteria(query, request.user),
            "can_share": request.user.has_perm("customers.share_segment"),
        })  # fmt: skip

    def get(self, request, pk=None):
        segment = self._segment(request, pk)
        query = self._query(request, segment)
        initial = {"query": query}
        if segment is not None:
            initial |= {"name": segment.name, "shared": segment.shared}
        return self._render(request, SegmentForm(initial=initial), segment, query)

    def post(self, request, pk=None):
        segment = self._segment(request, pk)
        form = SegmentForm(request.POST)
        if form.is_valid():
            try:
                saved = segment_save(
                    actor=request.user, data=form.cleaned_data,
                    segment_id=segment.pk if segment else None, request=request,
                )  # fmt: skip
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _("Segment “%(name)s” is saved.") % {"name": saved.name})
                return redirect(saved.get_absolute_url())
        return self._render(request, form, segment, request.POST.get("query", ""))


class SegmentDeleteView(LoginRequiredMixin, PermissionRequiredMixin, View):
    permission_required = "customers.delete_segment"

    def post(self, request, pk):
        try:
            segment_delete(actor=request.user, segment_id=pk, request=request)
        except ValidationError as error:
            messages_error(request, error)
        else:
            messages.success(request, _("The segment is deleted."))
        return redirect("customers:segment_list")
