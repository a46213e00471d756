"""Writes of the core app. Each service runs in a transaction, checks its rule,
writes the audit event and returns the object, or raises ValidationError."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.functional import lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _

from crm.audit import audit_record, diff, snapshot
from crm.fields import blind_index
from crm.models import AuditAction, LoginFailure, Notification, NotificationKind, NotifyBy, User
from crm.normalise import phone_normalise

PROFILE_FIELDS = ("first_name", "last_name", "email", "mobile", "language", "notify_by")


@transaction.atomic
def user_update_profile(
    *, actor: User, user_id: int, data: Mapping[str, Any], request=None
) -> User:
    """Change one's own profile (or, for an admin, anybody's)."""
    user = User.objects.select_for_update().get(pk=user_id)
    if actor.pk != user.pk and not actor.is_superuser:
        raise ValidationError(_("You may only change your own profile."), code="forbidden")
    values = {name: data[name] for name in PROFILE_FIELDS if name in data}
    if "mobile" in values:
        try:
            values["mobile"] = phone_normalise(values["mobile"])
        except ValidationError as exc:
            raise ValidationError({"mobile": exc}) from None
    if "email" in values:
        values["email"] = values["email"].strip().lower()
    if "language" in values and values["language"] not in dict(settings.LANGUAGES):
        raise ValidationError({"language": _("Choose a language from the list.")}, code="invalid")
    if "notify_by" in values and values["notify_by"] not in NotifyBy.values:
        raise ValidationError({"notify_by": _("Choose one of the ways offered.")}, code="invalid")
    before = snapshot(user, values)
    changes = diff(before, values)
    if not changes:
        return user
    for name, value in values.items():
        setattr(user, name, value)
    user.mobile_index = blind_index(user.mobile)
    user.save(update_fields=[*values, "mobile_index"])
    audit_record(
        actor=actor, action=AuditAction.UPDATE, target=user, changes=changes, request=request
    )
    return user


def user_set_language(*, user: User, language: str, request=None) -> User:
    return user_update_profile(
        actor=user, user_id=user.pk, data={"language": language}, request=request
    )


def _names(objects: Iterable) -> list[str]:
    return sorted(str(getattr(obj, "codename", None) or obj.name) for obj in objects)


def permission_changes_record(
    *,
    actor: User,
    target,
    before: Mapping[str, list[str]],
    after: Mapping[str, list[str]],
    request=None,
) -> bool:
    """Audit a change of groups, permissions or staff/superuser flags made elsewhere
    (Django admin saves those itself); returns whether anything changed."""
    changes = {
        name: (before[name], after[name]) for name in after if before.get(name) != after[name]
    }
    if not changes:
        return False
    audit_record(
        actor=actor,
        action=AuditAction.PERMISSION_CHANGE,
        target=target,
        changes=changes,
        request=request,
    )
    return True


def user_permission_snapshot(user: User) -> dict[str, Any]:
    return {
        "groups": _names(user.groups.all()),
        "user_permissions": sorted(
            f"{p.content_type.app_label}.{p.codename}"
            for p in user.user_permissions.select_related("content_type")
        ),
        "is_staff": user.is_staff,
        "is_superuser": user.is_superuser,
        "is_active": user.is_active,
    }


def group_permission_snapshot(group: Group) -> dict[str, Any]:
    return {
        "permissions": sorted(
            f"{p.content_type.app_label}.{p.codename}"
            for p in group.permissions.select_related("content_type")
        )
    }


@transaction.atomic
def user_set_roles(*, actor: User, user: User, groups: Iterable[Group], request=None) -> bool:
    """Give a user exactly these groups; audited as a permission change."""
    before = user_permission_snapshot(user)
    user.groups.set(list(groups))
    return permission_changes_record(
        actor=actor,
        target=user,
        before=before,
        after=user_permission_snapshot(user),
        request=request,
    )


@transaction.atomic
def login_unlock(*, actor: User, username: str, request=None) -> int:
    """Lift a log-in lock at once by forgetting the username's recorded failures."""
    deleted, _detail = LoginFailure.objects.filter(username__iexact=username).delete()
    if deleted:
        user = User.objects.filter(username__iexact=username).first()
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            target=user,
            changes={"login_lock": (deleted, 0)},
            extra={"username": username},
            request=request,
        )
    return deleted


def login_failures_prune(*, now: datetime.datetime, keep_days: int = 30) -> int:
    deleted, _detail = LoginFailure.objects.filter(
        created_at__lt=now - datetime.timedelta(days=keep_days)
    ).delete()
    return deleted


def _formatted(message, params) -> str:
    # `message % params`, not str(message) % …: a lazy ngettext picks its plural
    # form from the params, in the language active now.
    return str(message % params)


# A translatable text with its values, translated only when rendered: for notify(),
# which renders in the recipient's language (gettext_lazy(...) % {...} would be
# translated at once, in the sender's).
lazy_format = lazy(_formatted, str)


def notify(
    *,
    recipient: User,
    text: str,
    link: str = "",
    kind: str = NotificationKind.INFO,
    key: str = "",
) -> Notification:
    """Tell one person something. The text is rendered in the recipient's own
    language, so pass a lazy translation, not a string translated for the sender.
    With a `key`, once: the notification of that key they already have is returned
    instead of a second (a job run twice, or two at once)."""
    if link and not url_has_allowed_host_and_scheme(link, allowed_hosts=None):
        raise ValidationError(_("A notification links only to a page of this site."), code="link")
    with translation.override(recipient.language):
        rendered = str(text)
    values = {"text": rendered[:500], "link": link, "kind": kind}
    if not key:
        return Notification.objects.create(recipient=recipient, **values)
    try:
        with transaction.atomic():
            return Notification.objects.create(recipient=recipient, key=key, **values)
    except IntegrityError:
        return Notification.objects.get(recipient=recipient, key=key)


@transaction.atomic
def notification_open(*, actor: User, notification: Notification) -> Notification:
    if notification.recipient_id != actor.pk:
        raise ValidationError(_("This notification is not yours."), code="forbidden")
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


def notifications_mark_all_read(*, actor: User) -> int:
    return Notification.objects.filter(recipient=actor, read_at__isnull=True).update(
        read_at=timezone.now()
    )
