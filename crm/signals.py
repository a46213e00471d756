"""Request and authentication signals: the language reset between requests;
every log-in, log-out and failure audited and fed to the throttle. Worker
signals: the worker's heartbeat (crm.health) and each task's id on its log
lines (crm.logs)."""

from __future__ import annotations

import time

from celery.signals import task_postrun, task_prerun, worker_ready, worker_shutdown
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.core.signals import request_started
from django.dispatch import receiver
from django.utils import translation

from crm import logs
from crm.audit import audit_record, client_ip
from crm.auth import (
    login_failure_record,
    login_request_lock,
    login_success_record,
    login_user_locked,
)
from crm.health import WorkerHeartbeat
from crm.models import AuditAction
from crm.services import lazy_format, notify

SESSION_STARTED_KEY = "kehu_auth_started_at"


@receiver(request_started, dispatch_uid="crm_language_reset_start")
def language_reset(sender, **kwargs):
    """A thread serves many requests: the language one request activated must not
    answer the next (before crm.middleware.UserLanguageMiddleware chooses, an
    early error page or message would speak it). Reset as each request starts:
    the previous one is over by then, streamed files included, and what it left
    to be read afterwards (the test client's lazy context) still reads as it did."""
    translation.deactivate()


@receiver(user_logged_in, dispatch_uid="crm_logged_in")
def on_logged_in(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_STARTED_KEY] = int(time.time())
    if request is not None:
        # crm.middleware.LoginDeviceMiddleware remembers this browser for the user.
        request.kehu_signed_in = user.get_username()
    login_success_record(username=user.get_username(), request=request)
    audit_record(actor=user, action=AuditAction.LOGIN, target=user, request=request)


@receiver(user_logged_out, dispatch_uid="crm_logged_out")
def on_logged_out(sender, request, user, **kwargs):
    if user is not None:
        audit_record(actor=user, action=AuditAction.LOGOUT, target=user, request=request)


@receiver(user_login_failed, dispatch_uid="crm_login_failed")
def on_login_failed(sender, credentials, request=None, **kwargs):
    username = str(credentials.get(get_user_model().USERNAME_FIELD) or "")[:150]
    locked = login_request_lock(username, request) is not None
    if username and not locked:
        # Attempts made while locked are not counted, so the cool-off ends on time.
        was_locked = login_user_locked(username)
        login_failure_record(username=username, request=request)
        if not was_locked and login_user_locked(username):
            login_lock_tell(username, client_ip(request))
    audit_record(
        actor=None,
        actor_repr=username,
        action=AuditAction.LOGIN_FAILED,
        extra={"username": username, "locked": locked},
        request=request,
    )


def login_lock_tell(username: str, ip_address: str | None) -> None:
    """The per-user lock just closed: the user (if the name is theirs) and every
    active admin hear of it, once an hour."""
    from django.urls import reverse
    from django.utils.translation import gettext_lazy as _

    User = get_user_model()
    hour = int(time.time() // 3600)
    owner = User.objects.filter(username__iexact=username, is_active=True).first()
    if owner is not None:
        notify(
            recipient=owner,
            text=lazy_format(
                _(
                    "Many wrong passwords were sent for your account (last from %(ip)s): "
                    "it is locked for an hour except on browsers you signed in on before. "
                    "If this was not you, tell your administrator."
                ),
                {"ip": ip_address or "?"},
            ),
            kind="security",
            key=f"login-lock:{hour}",
        )
    for admin in User.objects.filter(is_superuser=True, is_active=True):
        notify(
            recipient=admin,
            text=lazy_format(
                _(
                    "The account %(username)s is locked after many wrong passwords "
                    "(last from %(ip)s). Unlock it under Failed log-ins if needed."
                ),
                {"username": username, "ip": ip_address or "?"},
            ),
            link=reverse("admin:crm_loginfailure_changelist"),
            kind="security",
            key=f"login-lock:{username.casefold()[:60]}:{hour}",
        )


_heartbeat: WorkerHeartbeat | None = None


@worker_ready.connect(dispatch_uid="crm_worker_heartbeat_start")
def worker_heartbeat_start(sender=None, **kwargs):
    global _heartbeat
    _heartbeat = WorkerHeartbeat()
    _heartbeat.start()


@worker_shutdown.connect(dispatch_uid="crm_worker_heartbeat_stop")
def worker_heartbeat_stop(sender=None, **kwargs):
    if _heartbeat is not None:
        _heartbeat.stop()


@task_prerun.connect(dispatch_uid="crm_task_request_id")
def task_request_id_set(task_id=None, **kwargs):
    logs.request_id.set(task_id or "")


@task_postrun.connect(dispatch_uid="crm_task_request_id_clear")
def task_request_id_clear(**kwargs):
    logs.request_id.set("")
