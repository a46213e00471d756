"""Interaction history, follow-up tasks and service tickets (DESIGN §3).

Everything here follows its customer: who may see the customer sees its
interactions and tickets (`interactions.selectors`). Tasks belong to people;
a task about a customer is only ever given to someone who may see it.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm.models import Recorded, Timestamped, Versioned, entered_by


class Channel(models.TextChoices):
    PHONE = "phone", pgettext_lazy("channel", "Phone call")
    VISIT = "visit", pgettext_lazy("channel", "Visit")
    MEETING = "meeting", pgettext_lazy("channel", "Meeting")
    EMAIL = "email", pgettext_lazy("channel", "E-mail")
    WECHAT = "wechat", pgettext_lazy("channel", "WeChat")
    SMS = "sms", pgettext_lazy("channel", "SMS")
    SOCIAL = "social", pgettext_lazy("channel", "Social media")
    OTHER = "other", pgettext_lazy("channel", "Other")


# How "last contact … by phone" reads: the channel as a means ("by phone").
CHANNEL_MEANS = {
    Channel.PHONE: pgettext_lazy("contact means", "by phone"),
    Channel.VISIT: pgettext_lazy("contact means", "on a visit"),
    Channel.MEETING: pgettext_lazy("contact means", "in a meeting"),
    Channel.EMAIL: pgettext_lazy("contact means", "by e-mail"),
    Channel.WECHAT: pgettext_lazy("contact means", "on WeChat"),
    Channel.SMS: pgettext_lazy("contact means", "by SMS"),
    Channel.SOCIAL: pgettext_lazy("contact means", "on social media"),
    Channel.OTHER: pgettext_lazy("contact means", "another way"),
}

CHANNEL_ICONS = {
    Channel.PHONE: "telephone",
    Channel.VISIT: "geo-alt",
    Channel.MEETING: "people",
    Channel.EMAIL: "envelope",
    Channel.WECHAT: "wechat",
    Channel.SMS: "chat-left-text",
    Channel.SOCIAL: "globe2",
    Channel.OTHER: "three-dots",
}


class Direction(models.TextChoices):
    OUTBOUND = "out", pgettext_lazy("direction", "Outbound")
    INBOUND = "in", pgettext_lazy("direction", "Inbound")


class Outcome(models.TextChoices):
    PROGRESS = "progress", pgettext_lazy("outcome", "Moved forward")
    NEUTRAL = "neutral", pgettext_lazy("outcome", "No change")
    SETBACK = "setback", pgettext_lazy("outcome", "Not interested")
    NO_ANSWER = "no_answer", pgettext_lazy("outcome", "No answer")


class Interaction(Versioned):
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="interactions",
        db_index=False,  # the (customer, occurred_at) index leads with it
    )
    # For company customers: whom the conversation was with.
    contact = models.ForeignKey(
        "customers.Contact",
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="interactions",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=pgettext_lazy("interaction", "by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="interactions",
        db_index=False,
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    direction = models.CharField(
        _("direction"), max_length=3, choices=Direction.choices, default=Direction.OUTBOUND
    )
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)
    subject = models.CharField(_("subject"), max_length=200)
    notes = models.TextField(_("notes"), blank=True, default="")
    outcome = models.CharField(
        _("outcome"), max_length=10, choices=Outcome.choices, blank=True, default=""
    )
    next_step = models.CharField(_("next step"), max_length=200, blank=True, default="")
    follow_up_at = models.DateTimeField(_("follow up on"), null=True, blank=True)

    class Meta:
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(channel__in=Channel.values), name="interactions_channel"
            ),
            models.CheckConstraint(
                condition=models.Q(direction__in=Direction.values), name="interactions_direction"
            ),
        ]
        indexes = [
            models.Index(
                fields=["customer", "-occurred_at", "-id"], name="interactions_customer_idx"
            ),
            models.Index(fields=["user", "-occurred_at"], name="interactions_user_idx"),
            models.Index(fields=["-occurred_at", "-id"], name="interactions_date_idx"),
        ]

    def __str__(self) -> str:
        return self.subject

    def get_absolute_url(self) -> str:
        return reverse("interactions:detail", args=[self.pk])

    @property
    def channel_icon(self) -> str:
        return CHANNEL_ICONS.get(self.channel, "chat-dots")


class TaskPriority(models.TextChoices):
    LOW = "low", pgettext_lazy("priority", "Low")
    NORMAL = "normal", pgettext_lazy("priority", "Normal")
    HIGH = "high", pgettext_lazy("priority", "High")
    URGENT = "urgent", pgettext_lazy("priority", "Urgent")


PRIORITY_ORDER = {
    TaskPriority.URGENT: 0,
    TaskPriority.HIGH: 1,
    TaskPriority.NORMAL: 2,
    TaskPriority.LOW: 3,
}


class TaskSource(models.TextChoices):
    MANUAL = "manual", pgettext_lazy("task source", "Manual")
    FOLLOW_UP = "follow_up", pgettext_lazy("task source", "Follow-up")
    FRESHNESS = "freshness", pgettext_lazy("task source", "Data freshness audit")
    CHURN = "churn", pgettext_lazy("task source", "Churn alert")
    POOL = "pool", pgettext_lazy("task source", "Customer pool")
    CONTRACT = "contract", pgettext_lazy("task source", "Contract renewal")
    TICKET = "ticket", pgettext_lazy("task source", "Service ticket")


class Task(Timestamped):
    title = models.CharField(_("title"), max_length=200)
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tasks",
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        on_delete=models.PROTECT,
        related_name="tasks",
        db_index=False,  # the partial (assignee, due_at) index serves "my tasks"
    )
    due_at = models.DateTimeField(_("due"))
    priority = models.CharField(
        _("priority"), max_length=10, choices=TaskPriority.choices, default=TaskPriority.NORMAL
    )
    notes = models.TextField(_("notes"), blank=True, default="")
    source = models.CharField(
        _("source"), max_length=10, choices=TaskSource.choices, default=TaskSource.MANUAL
    )
    # The interaction whose follow-up this task is.
    interaction = models.ForeignKey(
        Interaction,
        verbose_name=_("interaction"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tasks",
    )
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("done by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    created_by = entered_by()

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["due_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(priority__in=TaskPriority.values), name="interactions_task_prio"
            ),
            # One open "verify customer information" task per customer, whoever
            # (the audit, twice, or at once) would make a second.
            models.UniqueConstraint(
                fields=["customer"],
                condition=models.Q(source=TaskSource.FRESHNESS, done_at__isnull=True),
                name="interactions_task_one_freshness",
            ),
        ]
        indexes = [
            models.Index(
                fields=["assignee", "due_at"],
                name="interactions_task_open_idx",
                condition=models.Q(done_at__isnull=True),
            ),
            models.Index(fields=["assignee", "-done_at"], name="interactions_task_done_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("interactions:task_list") + f"#task-{self.pk}"

    @property
    def is_done(self) -> bool:
        return self.done_at is not None

    @property
    def is_overdue(self) -> bool:
        return self.done_at is None and self.due_at < timezone.now()


class TicketCategory(models.TextChoices):
    INSTALLATION = "installation", pgettext_lazy("ticket category", "Installation")
    REPAIR = "repair", pgettext_lazy("ticket category", "Repair")
    COMPLAINT = "complaint", pgettext_lazy("ticket category", "Complaint")
    RETURN = "return", pgettext_lazy("ticket category", "Return")
    ENQUIRY = "enquiry", pgettext_lazy("ticket category", "Enquiry")
    OTHER = "other", pgettext_lazy("ticket category", "Other")


class TicketStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("ticket status", "Open")
    IN_PROGRESS = "in_progress", pgettext_lazy("ticket status", "In progress")
    WAITING = "waiting", pgettext_lazy("ticket status", "Waiting on customer")
    RESOLVED = "resolved", pgettext_lazy("ticket status", "Resolved")
    CLOSED = "closed", pgettext_lazy("ticket status", "Closed")


ACTIVE_TICKET_STATUSES = (TicketStatus.OPEN, TicketStatus.IN_PROGRESS, TicketStatus.WAITING)

# The workflow: from each status, where a ticket may go. Resolved and closed
# tickets go back to open when they are reopened.
TICKET_MOVES: dict[str, tuple[str, ...]] = {
    TicketStatus.OPEN: (TicketStatus.IN_PROGRESS, TicketStatus.WAITING, TicketStatus.RESOLVED),
    TicketStatus.IN_PROGRESS: (TicketStatus.WAITING, TicketStatus.RESOLVED),
    TicketStatus.WAITING: (TicketStatus.IN_PROGRESS, TicketStatus.RESOLVED),
    TicketStatus.RESOLVED: (TicketStatus.CLOSED, TicketStatus.OPEN),
    TicketStatus.CLOSED: (TicketStatus.OPEN,),
}

# Hours to resolve by priority when no SLA policy row says otherwise.
DEFAULT_SLA_HOURS = {
    TaskPriority.URGENT: 4,
    TaskPriority.HIGH: 24,
    TaskPriority.NORMAL: 72,
    TaskPriority.LOW: 120,
}


class SlaPolicy(models.Model):
    """How long a ticket of a priority may take to resolve, in calendar hours
    (the clock stops while the ticket waits on the customer). Admins edit these."""

    priority = models.CharField(
        _("priority"), max_length=10, choices=TaskPriority.choices, unique=True
    )
    resolve_hours = models.PositiveIntegerField(_("hours to resolve"))
    # A ticket this close to its deadline shows as "due soon" in the queue.
    warn_hours = models.PositiveIntegerField(_("warn this many hours before"), default=2)

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["resolve_hours"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(resolve_hours__gt=0), name="interactions_sla_hours_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_priority_display()}: {self.resolve_hours} h"


class ServiceTicket(Recorded):
    number = models.CharField(_("ticket number"), max_length=20, unique=True)
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="tickets",
        db_index=False,
    )
    order = models.ForeignKey(
        "sales.Order",
        verbose_name=_("related order"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tickets",
    )
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"), blank=True, default="")
    category = models.CharField(
        _("category"), max_length=12, choices=TicketCategory.choices, default=TicketCategory.ENQUIRY
    )
    priority = models.CharField(
        _("priority"), max_length=10, choices=TaskPriority.choices, default=TaskPriority.NORMAL
    )
    status = models.CharField(
        _("status"), max_length=12, choices=TicketStatus.choices, default=TicketStatus.OPEN
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
        db_index=False,
    )
    sla_due_at = models.DateTimeField(_("resolve by"))
    # The SLA clock: it starts when the ticket is opened (again, when reopened) and
    # the deadline is that moment + the priority's hours + the time spent waiting.
    sla_started_at = models.DateTimeField(_("SLA clock started"), default=timezone.now)
    # The priority's hours when the clock started (or the priority changed): a later
    # edit of the SLA policies does not move the deadline of a ticket in flight.
    sla_hours = models.PositiveIntegerField(_("hours to resolve"), default=72)
    paused_seconds = models.PositiveIntegerField(_("seconds waiting on customer"), default=0)
    # While the ticket waits on the customer the SLA clock stands still: the
    # deadline moves on by the time spent waiting when work resumes.
    waiting_since = models.DateTimeField(_("waiting since"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    resolution = models.TextField(_("resolution"), blank=True, default="")
    satisfaction = models.PositiveSmallIntegerField(
        _("customer satisfaction"), null=True, blank=True
    )
    reopened = models.PositiveSmallIntegerField(_("times reopened"), default=0)
    created_by = entered_by(_("opened by"))
    created_at = models.DateTimeField(_("opened at"), default=timezone.now)

    class Meta:
        verbose_name = _("service ticket")
        verbose_name_plural = _("service tickets")
        ordering = ["sla_due_at", "id"]
        permissions = [
            (
                "serve_all_customers",
                _("Can log interactions and handle tickets for every customer"),
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=TicketStatus.values),
                name="interactions_ticket_status",
            ),
            models.CheckConstraint(
                condition=models.Q(satisfaction__isnull=True)
                | models.Q(satisfaction__gte=1, satisfaction__lte=5),
                name="interactions_ticket_satisfaction_1_5",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="interactions_ticket_cust_idx"),
            # The queue: the active tickets by deadline, overall and per assignee.
            models.Index(
                fields=["sla_due_at"],
                name="interactions_ticket_queue_idx",
                condition=models.Q(status__in=ACTIVE_TICKET_STATUSES),
            ),
            models.Index(
                fields=["assignee", "sla_due_at"],
                name="interactions_ticket_asg_idx",
                condition=models.Q(status__in=ACTIVE_TICKET_STATUSES),
            ),
            models.Index(fields=["-created_at", "-id"], name="interactions_ticket_date_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.subject}"

    def get_absolute_url(self) -> str:
        return reverse("interactions:ticket_detail", args=[self.pk])

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_TICKET_STATUSES

    def next_statuses(self) -> tuple[str, ...]:
        return TICKET_MOVES.get(self.status, ())

    def sla_state(self, now: datetime.datetime | None = None, warn_hours: int = 2) -> str:
        """ "breached", "due_soon", "paused", "met" or "ok"."""
        now = now or timezone.now()
        if self.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
            return "breached" if self.resolved_at and self.resolved_at > self.sla_due_at else "met"
        if self.waiting_since is not None:
            return "paused"
        if now > self.sla_due_at:
            return "breached"
        if now > self.sla_due_at - datetime.timedelta(hours=warn_hours):
            return "due_soon"
        return "ok"


class TicketComment(models.Model):
    """The ticket's thread: comments, and each status change with who made it."""

    ticket = models.ForeignKey(
        ServiceTicket, verbose_name=_("ticket"), on_delete=models.CASCADE, related_name="comments"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    body = models.TextField(_("comment"), blank=True, default="")
    status_from = models.CharField(
        _("from status"), max_length=12, choices=TicketStatus.choices, blank=True, default=""
    )
    status_to = models.CharField(
        _("to status"), max_length=12, choices=TicketStatus.choices, blank=True, default=""
    )
    created_at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        verbose_name = _("ticket comment")
        verbose_name_plural = _("ticket comments")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.body[:40]}"

    def audit_label(self) -> str:
        return f"{self._meta.verbose_name} #{self.pk}"
