"""The data-freshness audit (docs/operations.md): every owned, live customer
past the policy (customers.freshness, customers.models.FreshnessPolicy: not
verified within its segment's days, counted from its creation when never
verified, or below the minimum data quality) gets one "verify customer
information" task for its owner, never a second while one is open (a partial
unique index holds that whoever writes); the data stewards get a digest once a
day. Set-based: one statement finds and writes the tasks, whatever the number
of customers. Verifying the customer (customers.services.records.customer_verify, its
`customer_verified` signal) closes the task.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import connection
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from crm import roles
from crm.models import Notification, NotificationKind, User
from crm.services import lazy_format, notify
from customers.freshness import WITHIN_POLICY, policy_params
from customers.models import FreshnessPolicy
from interactions.models import Task, TaskPriority, TaskSource
from interactions.services.tasks import tasks_done_with

TASK_TITLE = _("Verify customer information")
TASK_NOTES = _(
    "The record is past the data-freshness policy: confirm the details with the "
    "customer, correct what changed, then press “Confirmed with the customer” "
    "on the customer's page."
)

_AUDIT = """
WITH stale AS (
    SELECT c.id, c.owner_id
    FROM customers_customer c
    WHERE c.deleted_at IS NULL AND NOT {within_policy}
),
made AS (
    INSERT INTO interactions_task (title, notes, customer_id, assignee_id, due_at, priority,
                                   source, created_at, updated_at)
    SELECT coalesce(t.title, %(title)s), coalesce(t.notes, %(notes)s), s.id, s.owner_id,
           %(due)s, %(priority)s, %(source)s, %(now)s, %(now)s
    FROM stale s
    JOIN crm_user u ON u.id = s.owner_id AND u.is_active
    LEFT JOIN unnest(%(languages)s::text[], %(titles)s::text[], %(all_notes)s::text[])
        AS t(language, title, notes) ON t.language = u.language
    ON CONFLICT (customer_id) WHERE source = 'freshness' AND done_at IS NULL DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM stale), (SELECT count(*) FROM stale WHERE owner_id IS NULL),
       (SELECT count(*) FROM made)
""".replace("{within_policy}", WITHIN_POLICY)


def _in_each_language(text) -> tuple[list[str], list[str]]:
    languages = [code for code, __ in settings.LANGUAGES]
    rendered = []
    for code in languages:
        with translation.override(code):
            rendered.append(str(text))
    return languages, rendered


def freshness_audit(as_of: datetime.date) -> dict[str, int]:
    """Create the verification tasks due at `as_of` and send the stewards' digest;
    the counts: customers past policy, of them in the pool (no owner to ask),
    tasks created (0 on a second run)."""
    policy = FreshnessPolicy.current()
    end = timezone.make_aware(datetime.datetime.combine(as_of, datetime.time.max))
    languages, titles = _in_each_language(TASK_TITLE)
    __, notes = _in_each_language(TASK_NOTES)
    with connection.cursor() as cursor:
        cursor.execute(
            _AUDIT,
            {
                **policy_params(policy, end),
                "languages": languages, "titles": titles, "all_notes": notes,
                "title": titles[0], "notes": notes[0],
                "due": end + datetime.timedelta(days=policy.task_due_days),
                "priority": TaskPriority.NORMAL, "source": TaskSource.FRESHNESS,
                "now": timezone.now(),
            },
        )  # fmt: skip
        stale, in_pool, created = cursor.fetchone()
    digests = _stewards_digest(as_of, stale, in_pool, created)
    return {"past_policy": stale, "in_pool": in_pool, "tasks_created": created,
            "digests": digests}  # fmt: skip


def _stewards_digest(as_of: datetime.date, stale: int, in_pool: int, created: int) -> int:
    """One notification a day to each active data steward (a second run for the
    same day sends none); how many were sent."""
    link = reverse("customers:list") + "?o=verified"
    text = lazy_format(
        ngettext_lazy(
            "Data freshness: %(stale)s customer past the policy (%(pool)s in the pool), "
            "%(created)s new verification tasks.",
            "Data freshness: %(stale)s customers past the policy (%(pool)s in the pool), "
            "%(created)s new verification tasks.",
            "stale",
        ),
        {"stale": stale, "pool": in_pool, "created": created},
    )
    key = f"freshness-digest:{as_of:%Y-%m-%d}"
    told = Notification.objects.filter(key=key).values("recipient")
    stewards = User.objects.filter(is_active=True, groups__name=roles.DATA_STEWARD)
    sent = 0
    for steward in stewards.exclude(pk__in=told).distinct().order_by("pk"):
        notify(recipient=steward, text=text, link=link, kind=NotificationKind.TASK, key=key)
        sent += 1
    return sent


def freshness_tasks_close(sender, *, customer, actor, at, **kwargs) -> None:
    """The customer is verified: its open "verify customer information" task is
    done with it (connected to customers.signals.customer_verified)."""
    tasks = Task.objects.filter(customer=customer, source=TaskSource.FRESHNESS)
    tasks_done_with(tasks, actor=actor, at=at)
