from __future__ import annotations

import sys

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import DetailView, ListView, TemplateView, UpdateView
from django_filters.views import FilterView

from crm.access import ScopedQuerysetMixin, scoped_get_or_404
from crm.audit import client_ip
from crm.auditlog import audit_page
from crm.errors import service_down_message
from crm.filters import AuditEventFilter, PersonFilter
from crm.forms import LanguageForm, LoginForm, ProfileForm
from crm.jobs import JOBS, jobs_overview
from crm.models import JobRun, Notification, Team, User
from crm.pagination import PeekPaginator
from crm.ratelimit import rate_limit_hit
from crm.roles import user_role_labels
from crm.search import RESULTS_PER_SECTION, kept_query, query_keep, search_sections
from crm.selectors import audit_events_for
from crm.services import (
    notification_open,
    notifications_mark_all_read,
    user_set_language,
    user_update_profile,
)
from crm.workbench import workbench_for


def _safe_next(request, candidate: str | None, default: str) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


class HomeView(LoginRequiredMixin, TemplateView):
    """The workbench (工作台): each role's day, in blocks the apps register
    (crm.workbench)."""

    template_name = "crm/home.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        return super().get_context_data(
            roles=user_role_labels(user),
            team=user.team,
            managed_teams=list(user.managed_teams.all()),
            blocks=workbench_for(user),
            today=timezone.localdate(),
            **kwargs,
        )


class LoginView(auth_views.LoginView):
    form_class = LoginForm
    template_name = "registration/login.html"
    redirect_authenticated_user = True


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset by e-mail, rate-limited per client address and per e-mail
    address, so nobody floods a colleague's mailbox or probes many accounts."""

    def form_valid(self, form):
        email = form.cleaned_data["email"].strip().casefold()
        over_address = rate_limit_hit(
            "password-reset-ip",
            client_ip(self.request) or "-",
            limit=settings.PASSWORD_RESETS_PER_ADDRESS,
            window=3600,
        )
        over_account = rate_limit_hit(
            "password-reset-email", email, limit=settings.PASSWORD_RESETS_PER_ACCOUNT, window=3600
        )
        if over_address or over_account:
            form.add_error(
                "email",
                _(
                    "Too many reset requests for this address. Check your mailbox for the "
                    "link already sent, or try again in an hour."
                ),
            )
            return self.form_invalid(form)
        return super().form_valid(form)


class SetLanguageView(View):
    """Switches the language; a signed-in user keeps the choice on their profile."""

    def post(self, request):
        form = LanguageForm(request.POST)
        target = _safe_next(request, request.POST.get("next"), reverse("home"))
        if not form.is_valid():
            return HttpResponseRedirect(target)
        language = form.cleaned_data["language"]
        if request.user.is_authenticated:
            user_set_language(user=request.user, language=language, request=request)
        response = HttpResponseRedirect(target)
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            secure=settings.LANGUAGE_COOKIE_SECURE,
            httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        )
        return response


class AccountView(LoginRequiredMixin, UpdateView):
    form_class = ProfileForm
    template_name = "crm/account.html"
    success_url = reverse_lazy("account")

    def get_object(self, queryset=None):
        return self.request.user

    def form_valid(self, form):
        try:
            user_update_profile(
                actor=self.request.user,
                user_id=self.request.user.pk,
                data=form.cleaned_data,
                request=self.request,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
            return self.form_invalid(form)
        messages.success(self.request, _("Your profile is saved."))
        return redirect(self.success_url)


class PersonListView(LoginRequiredMixin, ScopedQuerysetMixin, FilterView):
    model = User
    filterset_class = PersonFilter
    template_name = "crm/person_list.html"
    paginate_by = 50
    paginator_class = PeekPaginator

    def get_filterset_kwargs(self, filterset_class):
        return {**super().get_filterset_kwargs(filterset_class), "user": self.request.user}

    def get_queryset(self):
        return super().get_queryset().filter(is_active=True).prefetch_related("groups")


class PersonDetailView(LoginRequiredMixin, ScopedQuerysetMixin, DetailView):
    model = User
    template_name = "crm/person_detail.html"
    context_object_name = "person"

    def get_context_data(self, **kwargs):
        return super().get_context_data(roles=user_role_labels(self.object), **kwargs)


class TeamDetailView(LoginRequiredMixin, ScopedQuerysetMixin, DetailView):
    model = Team
    template_name = "crm/team_detail.html"

    def get_context_data(self, **kwargs):
        members = self.object.members.filter(is_active=True).prefetch_related("groups")
        return super().get_context_data(members=members, **kwargs)


class SearchView(LoginRequiredMixin, TemplateView):
    """The top-bar search: every registered section (customers first), scoped."""

    template_name = "crm/search.html"

    def post(self, request):
        """The top bar posts its query, kept in the session (crm.search.query_keep):
        the address of the results carries no phone or e-mail, and the browser's
        back button still works."""
        query = request.POST.get("q", "").strip()[:100]
        if not query:
            return redirect("search")
        return redirect(f"{reverse('search')}?k={query_keep(request, query)}")

    def get_context_data(self, **kwargs):
        kept = kept_query(self.request)
        query = (kept or self.request.GET.get("q", "")).strip()[:100]
        sections = []
        key = self.request.GET.get("k") if kept else None
        if query:
            for section in search_sections():
                results = section.find(user=self.request.user, query=query)
                full = len(results) >= RESULTS_PER_SECTION
                more = ""
                if section.more_url_name and full:  # the list, with the query kept too
                    key = key or query_keep(self.request, query)
                    more = f"{reverse(section.more_url_name)}?k={key}"
                sections.append({"section": section, "results": results, "more_url": more})
        return super().get_context_data(query=query, sections=sections, **kwargs)


class NotificationListView(LoginRequiredMixin, ScopedQuerysetMixin, ListView):
    model = Notification
    template_name = "crm/notification_list.html"
    paginate_by = 30
    paginator_class = PeekPaginator


class NotificationOpenView(LoginRequiredMixin, View):
    def post(self, request, pk: int):
        notification = scoped_get_or_404(Notification, request.user, pk=pk)
        notification_open(actor=request.user, notification=notification)
        return redirect(_safe_next(request, notification.link, reverse("notification_list")))


class NotificationReadAllView(LoginRequiredMixin, View):
    def post(self, request):
        count = notifications_mark_all_read(actor=request.user)
        if count:
            messages.success(request, _("All notifications are marked as read."))
        return redirect("notification_list")


class AuditListView(LoginRequiredMixin, PermissionRequiredMixin, FilterView):
    permission_required = "crm.view_auditevent"
    filterset_class = AuditEventFilter
    template_name = "crm/audit_list.html"
    paginate_by = 50
    paginator_class = PeekPaginator

    def get_queryset(self):
        return audit_events_for(self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["events"] = audit_page(self.request.user, context["page_obj"])
        return context


class JobRunListView(LoginRequiredMixin, PermissionRequiredMixin, ListView):
    """The periodic jobs: each one's last run and schedule, then every run (of one
    job with ?job=NAME), newest first."""

    permission_required = "crm.view_jobrun"
    template_name = "crm/job_runs.html"
    paginate_by = 50
    paginator_class = PeekPaginator

    def get_queryset(self):
        runs = JobRun.objects.order_by("-started_at", "-id")
        job = self.request.GET.get("job")
        return runs.filter(job=job) if job in JOBS else runs

    def get_context_data(self, **kwargs):
        job = self.request.GET.get("job")
        return super().get_context_data(
            jobs=jobs_overview(), job=job if job in JOBS else None, **kwargs
        )


def error_404(request, exception=None):
    return render(request, "404.html", status=404)


def error_500(request):
    """The last resort: no context processors, so no query that could fail again.
    A database or Redis outage gets its own sentence."""
    message = service_down_message(sys.exc_info()[1])
    if message:
        return HttpResponse(render_to_string("503.html", {"message": message}), status=503)
    context = {"request_id": getattr(request, "request_id", "")}
    return HttpResponse(render_to_string("500.html", context), status=500)
