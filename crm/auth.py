"""Log-in throttling.

A username + IP pair is locked after LOGIN_FAILURES_PER_PAIR failures within
LOGIN_COOLOFF_MINUTES; a username is locked everywhere after
LOGIN_FAILURES_PER_USER failures within an hour. The lock lifts by itself when
the failures age out of their window, or at once when an admin unlocks
(Django admin, "Failed log-ins", or `manage.py unlock_login USERNAME`).
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from crm.audit import client_ip
from crm.models import LoginFailure

USER_WINDOW = datetime.timedelta(hours=1)


@dataclass(frozen=True)
class LoginLock:
    scope: str  # "pair" or "user"
    until: datetime.datetime

    @property
    def minutes_left(self) -> int:
        return max(1, math.ceil((self.until - timezone.now()).total_seconds() / 60))


def _pair_window() -> datetime.timedelta:
    return datetime.timedelta(minutes=settings.LOGIN_COOLOFF_MINUTES)


def login_lock_for(username: str, ip_address: str | None) -> LoginLock | None:
    """The lock on this username (from this address), or None."""
    if not username:
        return None
    now = timezone.now()
    failures = LoginFailure.objects.filter(username__iexact=username)
    by_user = list(
        failures.filter(created_at__gte=now - USER_WINDOW)
        .order_by("-created_at")
        .values_list("created_at", flat=True)[: settings.LOGIN_FAILURES_PER_USER]
    )
    if len(by_user) >= settings.LOGIN_FAILURES_PER_USER:
        return LoginLock("user", by_user[-1] + USER_WINDOW)
    by_pair = list(
        failures.filter(ip_address=ip_address, created_at__gte=now - _pair_window())
        .order_by("-created_at")
        .values_list("created_at", flat=True)[: settings.LOGIN_FAILURES_PER_PAIR]
    )
    if len(by_pair) >= settings.LOGIN_FAILURES_PER_PAIR:
        return LoginLock("pair", by_pair[-1] + _pair_window())
    return None


def login_failure_record(*, username: str, request) -> None:
    LoginFailure.objects.create(
        username=username[:150],
        ip_address=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:255] if request else "",
    )


def login_success_record(*, username: str, request) -> None:
    """A good password from this address clears that pair's count, not the per-user one."""
    LoginFailure.objects.filter(
        username__iexact=username,
        ip_address=client_ip(request),
        created_at__gte=timezone.now() - _pair_window(),
    ).delete()


class ThrottledModelBackend(ModelBackend):
    """ModelBackend that refuses every password, right or wrong, while locked."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(self._username_field())
        if username and login_lock_for(username, client_ip(request)) is not None:
            raise PermissionDenied
        return super().authenticate(request, username=username, password=password, **kwargs)

    @staticmethod
    def _username_field() -> str:
        from django.contrib.auth import get_user_model

        return get_user_model().USERNAME_FIELD
