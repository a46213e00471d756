"""Notifications by e-mail (docs/operations.md), as each person chose on their
profile (crm.models.NotifyBy): in the app only; a daily digest each morning
(job `email_digest`, 08:15); or immediately (job `email_notifications`, every
minute: whatever came since, in one e-mail). In the person's language, with a
link to each page.

A notification goes out once: it is stamped `emailed_at` in the transaction
that sends it, its rows locked so that two sweeps never both send it. What is
already read in the app, or older than the window (a person who switches to
e-mail, a mail server down for days), is left to the bell. One person's failure
(a refused address, the server dropping the connection) is recorded on the
job's run and the others are sent; that person's notifications go out on the
next run.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from crm.jobs import item_failed
from crm.models import Notification, NotifyBy, User

IMMEDIATE_WINDOW = datetime.timedelta(hours=24)
DIGEST_WINDOW = datetime.timedelta(hours=48)
MOST_IN_ONE = 50  # notifications listed in one e-mail; the rest: "and N more"


def email_immediately(as_of: datetime.date) -> dict[str, int]:
    """E-mail the unsent notifications of those who want them at once."""
    return _send(NotifyBy.IMMEDIATE, IMMEDIATE_WINDOW)


def email_digest(as_of: datetime.date) -> dict[str, int]:
    """Each digest reader's unsent notifications of the last two days, in one e-mail."""
    return _send(NotifyBy.DIGEST, DIGEST_WINDOW)


def _pending(mode: str, window: datetime.timedelta):
    return (
        Notification.objects.filter(
            emailed_at__isnull=True, read_at__isnull=True,
            created_at__gte=timezone.now() - window,
            recipient__notify_by=mode, recipient__is_active=True,
        )
        .exclude(recipient__email="")
    )  # fmt: skip


def _send(mode: str, window: datetime.timedelta) -> dict[str, int]:
    people = list(_pending(mode, window).values_list("recipient_id", flat=True).distinct())
    sent = failed = notifications = 0
    for recipient in User.objects.filter(pk__in=people).order_by("pk"):
        try:
            with transaction.atomic():
                count = _send_to(recipient, mode, window)
        except Exception as error:  # one person's address or connection: the rest go on
            failed += 1
            item_failed(f"e-mail to {recipient.username}", error)
            continue
        if count:
            sent += 1
            notifications += count
    return {"emails": sent, "notifications": notifications, "failed": failed}


def _send_to(recipient: User, mode: str, window: datetime.timedelta) -> int:
    """One e-mail of the recipient's unsent notifications (locked, skipping those
    another sweep holds); how many it carried."""
    rows = list(
        _pending(mode, window)
        .filter(recipient=recipient)
        .select_for_update(skip_locked=True, of=("self",))
        .order_by("created_at", "id")
    )
    if not rows:
        return 0
    site = settings.SITE_URL.rstrip("/")
    with translation.override(recipient.language):
        context = {
            "recipient": recipient,
            "digest": mode == NotifyBy.DIGEST,
            "count": len(rows),
            "notifications": rows[:MOST_IN_ONE],
            "more": max(0, len(rows) - MOST_IN_ONE),
            "site": site,
            "profile": site + reverse("account"),
            "bell": site + reverse("notification_list"),
            "preference": recipient.get_notify_by_display(),
        }
        subject = " ".join(render_to_string("crm/email/notifications_subject.txt", context).split())
        body = render_to_string("crm/email/notifications.txt", context)
        html = render_to_string("crm/email/notifications.html", context)
    message = EmailMultiAlternatives(subject, body, to=[recipient.email])
    message.attach_alternative(html, "text/html")
    message.send()
    Notification.objects.filter(pk__in=[row.pk for row in rows]).update(emailed_at=timezone.now())
    return len(rows)
