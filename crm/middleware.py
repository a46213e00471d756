from __future__ import annotations

import logging
import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.core.exceptions import SuspiciousOperation
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.translation import gettext as _

from crm import health, logs
from crm.auth import DEVICE_COOKIE, device_cookie_value
from crm.errors import service_down_message
from crm.signals import SESSION_STARTED_KEY

log = logging.getLogger(__name__)

LAST_SEEN_KEY = "kehu_last_seen"
# The idle deadline is pushed back at most this often, so an active user costs
# one session write a minute rather than one per request.
SEEN_GRANULARITY = 60


class HealthMiddleware:
    """/healthz, for a load balancer: 200 when every part is healthy, 503 naming
    the failing ones (crm.health). First in the chain, so no host check, HTTPS
    redirect, session or database connection of the middleware after it stands in
    the way of a poll by address."""

    PATH = "/healthz"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info != self.PATH:
            return self.get_response(request)
        results = health.checks()
        failing = [part for part, result in results.items() if result != health.OK]
        response = JsonResponse(
            {"status": "failing" if failing else "ok", "failing": failing, "checks": results},
            status=503 if failing else 200,
        )
        patch_cache_control(response, no_store=True)
        if failing:
            # One line naming the parts instead of Django's "Service Unavailable".
            log.warning("healthz: %s", "; ".join(f"{p}: {results[p]}" for p in failing))
            response._has_been_logged = True
        return response


class RequestIdMiddleware:
    """Every log line of a request carries its id (crm.logs); the response says it
    in X-Request-ID, and the error pages show it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = logs.request_id_from(request.META.get("HTTP_X_REQUEST_ID"))
        token = logs.request_id.set(request.request_id)
        try:
            response = self.get_response(request)
        finally:
            logs.request_id.reset(token)
        response["X-Request-ID"] = request.request_id
        return response


class ServiceUnavailableMiddleware:
    """A database or Redis outage becomes a clear 503 page, never a traceback."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exc):
        message = service_down_message(exc)
        if message is None:
            return None
        return HttpResponse(render_to_string("503.html", {"message": message}), status=503)


class NulByteMiddleware:
    """A NUL byte is never part of what a person types, and PostgreSQL refuses it in
    text: a path, query string or form value holding one is answered 400 before any
    view sees it (it reached the database as a 500 before)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self._holds_nul(request):
            return HttpResponseBadRequest(render_to_string("400.html", request=request))
        return self.get_response(request)

    @staticmethod
    def _holds_nul(request) -> bool:
        if "\x00" in request.path_info or "%00" in request.META.get("QUERY_STRING", ""):
            return True
        # Only a urlencoded form: reading a multipart body here would fix its upload
        # handlers before the view sets its own (the contract upload's size guard).
        # Django's form fields refuse a NUL in text anyway.
        if request.method == "POST" and request.content_type == "application/x-www-form-urlencoded":
            try:
                items = request.POST.lists()
            except (SuspiciousOperation, ValueError):
                return False  # a malformed or too large body: Django's own 400 follows
            return any(
                "\x00" in key or any("\x00" in value for value in values) for key, values in items
            )
        return False


class LoginDeviceMiddleware:
    """After a successful log-in, remember the browser for that user (crm.auth: the
    per-user lock does not hold it)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        username = getattr(request, "kehu_signed_in", None)
        if username:
            response.set_cookie(
                DEVICE_COOKIE,
                device_cookie_value(request, username),
                max_age=settings.LOGIN_DEVICE_DAYS * 86400,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response


class SessionLifetimeMiddleware:
    """Ends a session after SESSION_IDLE_MINUTES idle or SESSION_MAX_HOURS in all."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            session = request.session
            now = int(time.time())
            started = session.get(SESSION_STARTED_KEY, now)
            seen = session.get(LAST_SEEN_KEY, now)
            if now - started > settings.SESSION_MAX_HOURS * 3600:
                logout(request)
                messages.info(request, _("Your session has ended. Please log in again."))
            elif now - seen > settings.SESSION_IDLE_MINUTES * 60:
                logout(request)
                messages.info(request, _("You were logged out after a period of inactivity."))
            else:
                if SESSION_STARTED_KEY not in session:
                    session[SESSION_STARTED_KEY] = started
                if now - seen >= SEEN_GRANULARITY or LAST_SEEN_KEY not in session:
                    session[LAST_SEEN_KEY] = now
        return self.get_response(request)


class UserLanguageMiddleware:
    """Chooses the language: the user's own, else the language cookie, else the
    site default. Browser preferences count only with LANGUAGE_FROM_BROWSER, since
    Kehu is Chinese-first and many browsers here are set to English."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = self._choose(request)
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        patch_vary_headers(response, ("Cookie", "Accept-Language"))
        return response

    @staticmethod
    def _choose(request) -> str:
        available = dict(settings.LANGUAGES)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.language in available:
            return user.language
        cookie = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if cookie in available:
            return cookie
        if getattr(settings, "LANGUAGE_FROM_BROWSER", False):
            return translation.get_language_from_request(request)
        return settings.LANGUAGE_CODE


class NoStoreMiddleware:
    """Pages may show personal data: no browser or proxy keeps a copy."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.static_prefix = "/" + settings.STATIC_URL.lstrip("/")

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path.startswith(self.static_prefix):
            patch_cache_control(response, no_store=True, private=True)
        return response
