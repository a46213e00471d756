"""Authentication signals: audit every log-in, log-out and failure, and feed the
throttle. No business rule lives here; these only record what auth did."""

from __future__ import annotations

import time

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from crm.audit import audit_record, client_ip
from crm.auth import login_failure_record, login_lock_for, login_success_record
from crm.models import AuditAction

SESSION_STARTED_KEY = "kehu_auth_started_at"


@receiver(user_logged_in, dispatch_uid="crm_logged_in")
def on_logged_in(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_STARTED_KEY] = int(time.time())
    login_success_record(username=user.get_username(), request=request)
    audit_record(actor=user, action=AuditAction.LOGIN, target=user, request=request)


@receiver(user_logged_out, dispatch_uid="crm_logged_out")
def on_logged_out(sender, request, user, **kwargs):
    if user is not None:
        audit_record(actor=user, action=AuditAction.LOGOUT, target=user, request=request)


@receiver(user_login_failed, dispatch_uid="crm_login_failed")
def on_login_failed(sender, credentials, request=None, **kwargs):
    username = str(credentials.get(get_user_model().USERNAME_FIELD) or "")[:150]
    locked = login_lock_for(username, client_ip(request)) is not None
    if username and not locked:
        # Attempts made while locked are not counted, so the cool-off ends on time.
        login_failure_record(username=username, request=request)
    audit_record(
        actor=None,
        actor_repr=username,
        action=AuditAction.LOGIN_FAILED,
        extra={"username": username, "locked": locked},
        request=request,
    )
