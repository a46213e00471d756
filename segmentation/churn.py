"""Churn alerts (docs/operations.md).

The nightly figures (segmentation.scoring) put a customer *at risk* or
*churned* by the interval rule, the model's churn score and the drop in
interactions. When a customer crosses into either, a churn episode
(customers.models.ChurnEpisode) starts, with one alert: a notification and a
win-back task for the owner, each giving the reasons in words in the owner's
language ("Usually buys every 30 days; last purchase 95 days ago. No contact
for 60 days."), and the team managers get a digest of the day. No second alert
while the episode lasts; it ends when the customer buys again (the scan closes
the task), is marked lost (`churn_mark_lost`; no alert again until the customer
buys) or is deleted.

Set-based: one statement ends the episodes, one starts the new ones with their
tasks and notifications, whatever the number of customers; the reasons are
written by SQL from the same translated sentences as the customer page's
(segmentation.outlook.stage_reasons), which a test holds equal.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext_lazy

from crm.audit import audit_record
from crm.models import AuditAction, Notification, NotificationKind, Team, User
from crm.services import lazy_format, notify
from crm.sqlwords import fill, plural, record_link, words_of, words_params
from customers.models import Stage
from customers.services.records import locked_editable
from interactions.models import Task, TaskPriority, TaskSource
from interactions.services.tasks import tasks_done_with
from segmentation.models import ChurnEpisode, ChurnOutcome, SegmentationRules
from segmentation.outlook import (
    NO_CONTACT_FROM_DAYS,
    REASON_MODEL,
    REASON_NEVER_CONTACTED,
    REASON_NO_CONTACT,
    REASON_ONCE,
    REASON_USUAL,
    contacts_form,
    days_form,
    stage_reasons,
    whole,
)
from segmentation.scoring import latest_run

WIN_BACK_DUE_DAYS = 3
TASK_TITLE = gettext_noop("Win back the customer")
TASK_HINT = gettext_noop(
    "Call or visit to learn why they stopped buying; a win-back coupon can be issued "
    "on the customer's page. If the customer is gone for good, mark them lost there."
)
ALERT = gettext_noop("Churn alert — %(customer)s: %(reasons)s")
LOST_REASON_MAX = 500


WORDS = {
    "usual": REASON_USUAL, "once": REASON_ONCE, "model": REASON_MODEL,
    "never": REASON_NEVER_CONTACTED, "no_contact": REASON_NO_CONTACT,
    "day_one": lambda: days_form(1), "day_other": lambda: days_form(2),
    "contacts_one": lambda: contacts_form(1), "contacts_other": lambda: contacts_form(2),
    "alert": ALERT, "title": TASK_TITLE, "hint": TASK_HINT,
}  # fmt: skip


def _days(number: str) -> str:
    """SQL: "N days" in the row's language (x.w)."""
    return fill(plural("x.w", "day", number), count=number)


_USUAL = fill(
    "x.w->>'usual'",
    usual=_days("greatest(1, round(x.purchase_interval_days))::int"),
    since=_days("x.days_since_purchase"),
)
_ONCE = fill(
    "x.w->>'once'", since=_days("x.days_since_purchase"), typical=_days("%(typical_days)s::int")
)
_MODEL = (
    "replace(" + fill("x.w->>'model'", percent="round(x.p_alive * 100)::int") + ", '%%%%', '%%')"
)
_USUAL_CONTACTS = r"regexp_replace(round(x.usual_interactions_90d, 1)::text, '\.0$', '')"
_DROP = fill(
    plural("x.w", "contacts", "x.interactions_90d"),
    recent="x.interactions_90d",
    usual=_USUAL_CONTACTS,
)
_NO_CONTACT = fill("x.w->>'no_contact'", days=_days("x.days_since_contact"))

# sentences(stage_reasons(…)), sentence by sentence, for a row x of the metrics with
# its words x.w.
_REASONS = f"""regexp_replace(concat_ws(' ',
    CASE WHEN x.purchase_days >= 2 AND x.purchase_interval_days IS NOT NULL THEN {_USUAL}
         ELSE {_ONCE} END,
    CASE WHEN x.p_alive < %(at_risk_p)s THEN {_MODEL} END,
    CASE WHEN x.usual_interactions_90d >= 1
              AND x.interactions_90d < x.usual_interactions_90d * %(drop_share)s THEN {_DROP} END,
    CASE WHEN x.days_since_contact IS NULL THEN x.w->>'never'
         WHEN x.days_since_contact >= {NO_CONTACT_FROM_DAYS} THEN {_NO_CONTACT} END),
    '([。！？]) ', '\\1', 'g')"""


# The open episodes whose customer bought since it started, or is gone, ended and
# their win-back tasks closed (a data-modifying WITH runs whether read or not);
# per team, for the managers' digest.
_END = """
WITH ended AS (
    UPDATE customers_churnepisode e
    SET ended_at = %(now)s,
        outcome = CASE WHEN c.deleted_at IS NULL THEN 'bought' ELSE 'gone' END
    FROM customers_customer c
    LEFT JOIN customers_customermetrics m ON m.customer_id = c.id
    WHERE e.ended_at IS NULL AND c.id = e.customer_id
      AND (c.deleted_at IS NOT NULL OR m.last_purchase_at > e.last_purchase_at)
    RETURNING e.task_id, e.outcome, c.team_id
),
closed AS (
    UPDATE interactions_task t SET done_at = %(now)s, updated_at = %(now)s
    FROM ended WHERE t.id = ended.task_id AND t.done_at IS NULL
    RETURNING 1
)
SELECT team_id, count(*) FILTER (WHERE outcome = 'bought'),
       count(*) FILTER (WHERE outcome = 'gone')
FROM ended GROUP BY team_id
"""

# The live customers at risk or churned with no open episode, and none marked
# lost since their last purchase; those with an active owner alerted: the
# episode, its task (its id drawn first, so that a task is written only for an
# episode that was) and the notification, in one statement.
_START = (
    """
WITH crossed AS (
    SELECT m.*, c.owner_id, c.name, c.is_key_account
    FROM customers_customermetrics m
    JOIN customers_customer c ON c.id = m.customer_id AND c.deleted_at IS NULL
    WHERE m.lifecycle IN ('at_risk', 'churned') AND m.last_purchase_at IS NOT NULL
      AND NOT EXISTS (
          SELECT FROM customers_churnepisode e
          WHERE e.customer_id = m.customer_id
            AND (e.ended_at IS NULL
                 OR (e.outcome = 'lost' AND e.last_purchase_at >= m.last_purchase_at)))
),
owned AS (
    SELECT a.*, {words} AS w,
           nextval(pg_get_serial_sequence('interactions_task', 'id')) AS task_id
    FROM crossed a JOIN crm_user u ON u.id = a.owner_id AND u.is_active
),
worded AS (
    SELECT x.*, {reasons} AS reasons FROM owned x
),
episodes AS (
    INSERT INTO customers_churnepisode (
        customer_id, owner_id, task_id, started_on, started_at, lifecycle, last_purchase_at,
        purchase_days, purchase_interval_days, days_since_purchase, p_alive, interactions_90d,
        usual_interactions_90d, days_since_contact, typical_interval_days, at_risk_p_alive,
        contact_drop_share, total_spent, outcome, lost_reason)
    SELECT x.customer_id, x.owner_id, x.task_id, %(as_of)s, %(now)s, x.lifecycle,
           x.last_purchase_at, x.purchase_days, x.purchase_interval_days, x.days_since_purchase,
           x.p_alive, x.interactions_90d, x.usual_interactions_90d, x.days_since_contact,
           %(typical)s, %(at_risk_p)s, %(drop_percent)s, x.total_spent, '', ''
    FROM worded x
    ON CONFLICT (customer_id) WHERE ended_at IS NULL DO NOTHING
    RETURNING id, customer_id
),
tasks AS (
    INSERT INTO interactions_task (id, title, notes, customer_id, assignee_id, due_at, priority,
                                   source, created_at, updated_at)
    SELECT x.task_id, x.w->>'title', x.reasons || E'\\n\\n' || (x.w->>'hint'), x.customer_id,
           x.owner_id, %(due)s,
           CASE WHEN x.is_key_account OR x.value_tier = 'high' THEN %(high)s ELSE %(normal)s END,
           %(source)s, %(now)s, %(now)s
    FROM worded x JOIN episodes e ON e.customer_id = x.customer_id
    RETURNING 1
),
notified AS (
    INSERT INTO crm_notification (recipient_id, kind, text, link, key, created_at)
    SELECT x.owner_id, %(kind)s,
           left({alert}, 500),
           replace(%(link)s, '{id}', x.customer_id::text), 'churn:' || e.id, %(now)s
    FROM worded x JOIN episodes e ON e.customer_id = x.customer_id
    ON CONFLICT (recipient_id, key) WHERE key <> '' DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM crossed), (SELECT count(*) FROM crossed WHERE owner_id IS NULL),
       (SELECT count(*) FROM episodes), (SELECT count(*) FROM tasks),
       (SELECT count(*) FROM notified)
""".replace("{reasons}", _REASONS)
    .replace("{words}", words_of("u"))
    .replace("{alert}", fill("x.w->>'alert'", reasons="x.reasons", customer="x.name"))
)


def churn_alerts(as_of: datetime.date) -> dict[str, int]:
    """End the episodes of customers who bought again (or are gone), start one for
    each customer newly at risk or churned at `as_of`, with its alert, and send the
    managers' digest; the counts. A second run changes nothing."""
    rules = SegmentationRules.current()
    run = latest_run()
    typical = (run.typical_interval_days if run else None) or rules.default_interval_days
    now = timezone.now()
    end_of_day = timezone.make_aware(datetime.datetime.combine(as_of, datetime.time.max))
    link = record_link("customers:detail")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_END, {"now": now})
        ended = {team: (bought, gone) for team, bought, gone in cursor.fetchall()}
        cursor.execute(
            _START,
            {
                **words_params(WORDS),
                "typical": typical, "typical_days": whole(typical),
                "at_risk_p": rules.at_risk_p_alive,
                "drop_percent": rules.contact_drop_share,
                "drop_share": Decimal(rules.contact_drop_share) / 100,
                "as_of": as_of, "now": now, "link": link,
                "due": end_of_day + datetime.timedelta(days=WIN_BACK_DUE_DAYS),
                "high": TaskPriority.HIGH, "normal": TaskPriority.NORMAL,
                "source": TaskSource.CHURN, "kind": NotificationKind.ALERT,
            },
        )  # fmt: skip
        crossed, in_pool, alerts, tasks, notified = cursor.fetchone()
        digests = _managers_digest(as_of, ended)
    return {
        "crossed": crossed, "in_pool": in_pool, "alerts": alerts, "tasks": tasks,
        "notifications": notified,
        "ended_bought": sum(bought for bought, __ in ended.values()),
        "ended_gone": sum(gone for __, gone in ended.values()),
        "digests": digests,
        "open": ChurnEpisode.objects.filter(ended_at__isnull=True).count(),
    }  # fmt: skip


DIGEST = ngettext_lazy(
    "Churn alerts on %(day)s: %(new)s customer of your team newly at risk (%(churned)s "
    "churned), %(bought)s bought again; %(open)s alerts open.",
    "Churn alerts on %(day)s: %(new)s customers of your team newly at risk (%(churned)s "
    "churned), %(bought)s bought again; %(open)s alerts open.",
    "new",
)


def _managers_digest(as_of: datetime.date, ended: dict) -> int:
    """Each active manager of a team with a new alert at `as_of` or a customer who
    bought again: one notification for the day over the teams they manage (two
    runs send one); how many were sent."""
    started = {}
    rows = (
        ChurnEpisode.objects.filter(started_on=as_of)
        .values_list("customer__team_id")
        .annotate(new=Count("id"), churned=Count("id", filter=Q(lifecycle=Stage.CHURNED)))
    )
    started.update({team: (new, churned) for team, new, churned in rows})
    teams = set(started) | set(ended)
    open_by_team = dict(
        ChurnEpisode.objects.filter(ended_at__isnull=True, customer__team_id__in=teams)
        .values_list("customer__team_id")
        .annotate(Count("id"))
    )
    key = f"churn-digest:{as_of:%Y-%m-%d}"
    told = Notification.objects.filter(key=key).values("recipient")
    managed = Team.objects.filter(pk__in=teams, manager__is_active=True).exclude(manager__in=told)
    by_manager: dict[int, list] = {}
    for team in managed.select_related("manager").order_by("pk"):
        by_manager.setdefault(team.manager_id, [team.manager, 0, 0, 0, 0])
        figures = by_manager[team.manager_id]
        new, churned = started.get(team.pk, (0, 0))
        figures[1:] = [figures[1] + new, figures[2] + churned,
                       figures[3] + ended.get(team.pk, (0, 0))[0],
                       figures[4] + open_by_team.get(team.pk, 0)]  # fmt: skip
    link = reverse("segmentation:churn")
    for manager, new, churned, bought, still_open in by_manager.values():
        text = lazy_format(DIGEST, {
            "day": f"{as_of:%Y-%m-%d}", "new": new, "churned": churned, "bought": bought,
            "open": still_open,
        })  # fmt: skip
        notify(recipient=manager, text=text, link=link, kind=NotificationKind.ALERT, key=key)
    return len(by_manager)


def churn_reasons(episode: ChurnEpisode) -> list[str]:
    """The episode's reasons as they were the day it started (its figures and the
    rules of that day), in the active language; no query."""
    rules = SegmentationRules(
        at_risk_p_alive=episode.at_risk_p_alive,
        contact_drop_share=episode.contact_drop_share,
        default_interval_days=whole(episode.typical_interval_days or 1),
    )
    return stage_reasons(episode, rules, episode.typical_interval_days)


@transaction.atomic
def churn_mark_lost(*, actor: User, customer_id: int, reason: str, request=None) -> ChurnEpisode:
    """End the customer's open churn episode as lost, with why; its win-back task
    closed. No churn alert for the customer again until they buy."""
    customer = locked_editable(actor, customer_id)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the customer is lost.")})
    if len(reason) > LOST_REASON_MAX:
        raise ValidationError(
            {"reason": _("At most %(count)s characters.") % {"count": LOST_REASON_MAX}}
        )
    episode = (
        ChurnEpisode.objects.select_for_update()
        .filter(customer=customer, ended_at__isnull=True)
        .first()
    )
    if episode is None:
        raise ValidationError(_("This customer has no open churn alert."), code="no_episode")
    now = timezone.now()
    episode.ended_at, episode.outcome = now, ChurnOutcome.LOST
    episode.ended_by, episode.lost_reason = actor, reason
    episode.save(update_fields=["ended_at", "outcome", "ended_by", "lost_reason"])
    if episode.task_id:
        tasks_done_with(Task.objects.filter(pk=episode.task_id), actor=actor, at=now)
    audit_record(
        actor=actor, action=AuditAction.UPDATE, target=customer,
        changes={"churn_outcome": ("", ChurnOutcome.LOST.value), "lost_reason": ("", reason)},
        extra={"churn_episode": episode.pk}, request=request,
    )  # fmt: skip
    return episode
