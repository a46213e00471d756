"""The admins' alerts about backups, and the job that sends them (crm.jobs).

The job `backup` (daily, 02:45; crm.backup.archive) writes a backup and prunes
the old ones. `backup_check` (every hour) tells the admins, active superusers,
when the last backup run failed or the last one that succeeded is more than
STALE_AFTER old (a day and some slack, so a backup running a little later than
yesterday's does not alert). A failing run tells them at once. One alert a day
at most, whatever its cause: every backup alert of a day shares the
notification key `backup:YYYY-MM-DD`."""

from __future__ import annotations

import datetime
import logging

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models import BackupRun, Notification, NotificationKind, User
from crm.services import lazy_format, notify

log = logging.getLogger(__name__)

STALE_AFTER = datetime.timedelta(hours=26)

FAILED = _("The backup started at %(when)s failed: %(error)s")
STALE = _(
    "The last backup that succeeded is from %(when)s, more than a day ago. "
    "See Backup runs in Django admin."
)
NEVER = _("No backup has succeeded yet. See Backup runs in Django admin.")


def _when(moment: datetime.datetime) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"


def backup_admins_alert(text, *, now: datetime.datetime | None = None) -> int:
    """Tell every active superuser, once a day (the day's key); how many were
    told now (not before)."""
    key = f"backup:{timezone.localdate(now or timezone.now()).isoformat()}"
    admins = list(User.objects.filter(is_superuser=True, is_active=True).order_by("pk"))
    told_before = set(
        Notification.objects.filter(key=key, recipient__in=admins).values_list(
            "recipient_id", flat=True
        )
    )
    link = reverse("admin:crm_backuprun_changelist")
    for admin in admins:
        notify(recipient=admin, text=text, link=link, kind=NotificationKind.ALERT, key=key)
    return sum(admin.pk not in told_before for admin in admins)


def backup_failed_alert(run: BackupRun) -> None:
    """A failed run tells the admins; an error telling them is logged, never
    raised over the backup's own."""
    error = run.error.splitlines()[0][:300] if run.error else ""
    try:
        backup_admins_alert(lazy_format(FAILED, {"when": _when(run.started_at), "error": error}))
    except Exception:
        log.exception("the admins could not be told that the backup failed")


def backup_alert_text(now: datetime.datetime):
    """What is wrong with the backups at `now`, or None."""
    runs = BackupRun.objects.order_by("-started_at", "-id")
    last = runs.exclude(status=BackupRun.Status.RUNNING).first()
    if last is not None and last.status == BackupRun.Status.FAILED:
        error = last.error.splitlines()[0][:300] if last.error else ""
        return lazy_format(FAILED, {"when": _when(last.started_at), "error": error})
    last_ok = runs.filter(status=BackupRun.Status.OK).first()
    if last_ok is None:
        return NEVER
    if now - last_ok.started_at > STALE_AFTER:
        return lazy_format(STALE, {"when": _when(last_ok.started_at)})
    return None


def backup_check(as_of: datetime.date) -> dict[str, int]:
    """The job `backup_check`: alert the admins when the backups are not right."""
    now = timezone.now()
    text = backup_alert_text(now)
    return {"alerted": backup_admins_alert(text, now=now) if text is not None else 0}
