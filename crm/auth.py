"""Log-in throttling.

A username + IP pair is locked after LOGIN_FAILURES_PER_PAIR failures within
LOGIN_COOLOFF_MINUTES; a username is locked everywhere after
LOGIN_FAILURES_PER_USER failures within an hour. The lock lifts by itself when
the failures age out of their window, or at once when an admin unlocks
(Django admin, "Failed log-ins", or `manage.py unlock_login USERNAME`).

Anyone can send wrong passwords for a username, so the per-user lock does not
hold a browser that signed in as that user before (a signed cookie naming the
usernames that signed in on it, LOGIN_DEVICE_DAYS long): the real user gets in
from their own computer or phone while an attacker elsewhere stays locked out.
The per-address lock holds every browser.
"""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from crm.audit import client_ip
from crm.models import LoginFailure

USER_WINDOW = datetime.timedelta(hours=1)
DEVICE_COOKIE = "kehu_device"
DEVICE_SALT = "kehu.login-device"
DEVICE_USERS = 5  # usernames one browser remembers (a shared computer)


def device_usernames(request) -> list[str]:
    """The usernames that signed in on this browser (its signed cookie), newest first."""
    raw = request.COOKIES.get(DEVICE_COOKIE) if request is not None else None
    if not raw:
        return []
    try:
        names = signing.loads(
            raw, salt=DEVICE_SALT, max_age=datetime.timedelta(days=settings.LOGIN_DEVICE_DAYS)
        )
    except signing.BadSignature:
        return []
    return [str(name) for name in names][:DEVICE_USERS] if isinstance(names, list) else []


def device_cookie_value(request, username: str) -> str:
    """The cookie's value once `username` signed in on this browser."""
    name = username.casefold()
    names = [name, *(other for other in device_usernames(request) if other != name)]
    return signing.dumps(names[:DEVICE_USERS], salt=DEVICE_SALT)


def device_known(request, username: str) -> bool:
    return bool(username) and username.casefold() in device_usernames(request)


@dataclass(frozen=True)
class LoginLock:
    scope: str  # "pair" or "user"
    until: datetime.datetime

    @property
    def minutes_left(self) -> int:
        return max(1, math.ceil((self.until - timezone.now()).total_seconds() / 60))


def _pair_window() -> datetime.timedelta:
    return datetime.timedelta(minutes=settings.LOGIN_COOLOFF_MINUTES)


def login_lock_for(
    username: str, ip_address: str | None, *, known_device: bool = False
) -> LoginLock | None:
    """The lock on this username (from this address), or None. A browser the
    user signed in on before (`known_device`) is held by the per-address lock only."""
    if not username:
        return None
    now = timezone.now()
    failures = LoginFailure.objects.filter(username__iexact=username)
    if not known_device:
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


def login_request_lock(username: str, request) -> LoginLock | None:
    """The lock on this username for this request (its address and browser)."""
    return login_lock_for(
        username, client_ip(request), known_device=device_known(request, username)
    )


def login_user_locked(username: str) -> bool:
    """Whether the per-user lock holds this username (for every unknown browser)."""
    return getattr(login_lock_for(username, None), "scope", "") == "user"


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
        if username and login_request_lock(username, request) is not None:
            raise PermissionDenied
        return super().authenticate(request, username=username, password=password, **kwargs)

    @staticmethod
    def _username_field() -> str:
        from django.contrib.auth import get_user_model

        return get_user_model().USERNAME_FIELD
