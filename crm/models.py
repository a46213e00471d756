from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from crm.fields import BlindIndexField, EncryptedTextField

# --- the shapes business records share --------------------------------------


def entered_by(verbose_name=None) -> models.ForeignKey:
    """Who entered a record: kept when the person leaves (PROTECT), not indexed
    (nothing looks records up by it), no reverse accessor."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=verbose_name or _("created by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )


class Timestamped(models.Model):
    """When a record was created and last changed (set by its services, so an
    import can give the original moments)."""

    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        abstract = True


class Versioned(Timestamped):
    """A record edited through forms: every write bumps `version`
    (crm.audit.versioned_save), so a form sent from a stale page is refused
    instead of overwriting a colleague's change."""

    version = models.PositiveIntegerField(_("version"), default=1)

    class Meta:
        abstract = True


class Recorded(Versioned):
    """A versioned record that remembers who entered it. A record that words it
    otherwise (an order is *entered by*) overrides `created_by = entered_by(…)`."""

    created_by = entered_by()

    class Meta:
        abstract = True


# Bookkeeping shown last on a record's admin page, whatever the model's order.
RECORD_FIELDS = ("version", "created_by", "created_at", "updated_at")


class BilingualNameMixin:
    """A row of an admin-edited list named in both languages (`name_zh`, `name_en`):
    shown in the reader's language, the other name when that one is empty."""

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        from django.utils import translation

        if (translation.get_language() or "").startswith("en"):
            return self.name_en or self.name_zh
        return self.name_zh or self.name_en


class OneRowMixin:
    """A company's one row of settings (id 1, its one-row check in the model's
    constraints), created with its documented defaults when missing."""

    @classmethod
    def current(cls):
        row, __ = cls.objects.get_or_create(pk=1)
        return row


class Team(models.Model):
    name = models.CharField(pgettext_lazy("team", "name"), max_length=100, unique=True)
    manager = models.ForeignKey(
        "crm.User",
        verbose_name=_("manager"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_teams",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("team_detail", args=[self.pk])


class NotifyBy(models.TextChoices):
    """How a person hears of their notifications besides the bell (crm.mail)."""

    IN_APP = "in_app", pgettext_lazy("notify by", "In the app only")
    DIGEST = "digest", pgettext_lazy("notify by", "By e-mail, a daily digest")
    IMMEDIATE = "immediate", pgettext_lazy("notify by", "By e-mail, immediately")


class User(AbstractUser):
    language = models.CharField(
        _("language"),
        max_length=10,
        choices=settings.LANGUAGES,
        default=settings.LANGUAGE_CODE,
        help_text=_("The language the pages are shown in."),
    )
    mobile = EncryptedTextField(
        _("mobile phone"),
        blank=True,
        default="",
        help_text=_("Colleagues see it in the people directory."),
    )
    mobile_index = BlindIndexField(_("mobile phone index"))
    notify_by = models.CharField(
        _("notifications"), max_length=10, choices=NotifyBy.choices, default=NotifyBy.DIGEST,
        db_default=NotifyBy.DIGEST,
        help_text=_("Besides the bell: the day's notifications in one e-mail each morning, "
                    "each one by e-mail as it comes, or none by e-mail."),
    )  # fmt: skip
    team = models.ForeignKey(
        Team,
        verbose_name=_("team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members",
    )

    class Meta(AbstractUser.Meta):
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["username"]
        permissions = [("view_all_users", _("Can see every user and team"))]
        indexes = [models.Index(fields=["mobile_index"], name="crm_user_mobile_index_idx")]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    def get_absolute_url(self) -> str:
        return reverse("person_detail", args=[self.pk])

    def get_full_name(self) -> str:
        return self.name_of(self.last_name, self.first_name)

    @staticmethod
    def name_of(last_name: str, first_name: str) -> str:
        """Chinese names read family name first, without a space."""
        last, first = (last_name or "").strip(), (first_name or "").strip()
        if last and first and not (last.isascii() and first.isascii()):
            return f"{last}{first}"
        return " ".join(part for part in (first, last) if part)


class AuditAction(models.TextChoices):
    CREATE = "create", pgettext_lazy("audit action", "Create")
    UPDATE = "update", pgettext_lazy("audit action", "Update")
    DELETE = "delete", pgettext_lazy("audit action", "Delete")
    RESTORE = "restore", pgettext_lazy("audit action", "Restore")
    VIEW_SENSITIVE = "view_sensitive", pgettext_lazy("audit action", "View sensitive data")
    EXPORT = "export", pgettext_lazy("audit action", "Export")
    LOGIN = "login", pgettext_lazy("audit action", "Log in")
    LOGIN_FAILED = "login_failed", pgettext_lazy("audit action", "Failed log-in")
    LOGOUT = "logout", pgettext_lazy("audit action", "Log out")
    PERMISSION_CHANGE = "permission_change", pgettext_lazy("audit action", "Permission change")
    IMPORT = "import", pgettext_lazy("audit action", "Import")
    MERGE = "merge", pgettext_lazy("audit action", "Merge")
    UNMERGE = "unmerge", pgettext_lazy("audit action", "Undo merge")
    CONFLICT_CHECK = "conflict_check", pgettext_lazy("audit action", "Conflict check")


class AuditEvent(models.Model):
    """One thing somebody did. Rows are never changed or deleted (a trigger enforces it)."""

    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    actor_repr = models.CharField(_("actor name"), max_length=150, blank=True, default="")
    action = models.CharField(_("action"), max_length=32, choices=AuditAction.choices)
    target_type = models.ForeignKey(
        ContentType,
        verbose_name=_("target type"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    target_id = models.CharField(_("target id"), max_length=64, blank=True, default="")
    target_repr = models.CharField(_("target"), max_length=255, blank=True, default="")
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    extra = models.JSONField(_("details"), default=dict, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["target_type", "target_id", "-created_at"]),
            models.Index(fields=["actor", "-created_at"]),
            models.Index(fields=["action", "-created_at"]),
        ]

    def __str__(self) -> str:
        return (
            f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_repr} {self.action} {self.target_repr}"
        )


class NotificationKind(models.TextChoices):
    INFO = "info", pgettext_lazy("notification kind", "Information")
    TASK = "task", pgettext_lazy("notification kind", "Task")
    ALERT = "alert", pgettext_lazy("notification kind", "Alert")
    SECURITY = "security", pgettext_lazy("notification kind", "Security")


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    kind = models.CharField(
        _("kind"), max_length=32, choices=NotificationKind.choices, default=NotificationKind.INFO
    )
    text = models.CharField(_("text"), max_length=500)
    link = models.CharField(_("link"), max_length=500, blank=True, default="")
    # What the notification is about, for the jobs that must tell someone once
    # ("churn:12", "task-overdue:7"): one notification per recipient and key.
    key = models.CharField(_("key"), max_length=100, blank=True, default="", db_default="")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    # Sent by e-mail, on its own or in a digest (crm.mail).
    emailed_at = models.DateTimeField(_("e-mailed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "key"],
                condition=~models.Q(key=""),
                name="crm_notification_once_per_key",
            ),
        ]
        indexes = [
            models.Index(
                fields=["recipient", "-created_at"],
                name="crm_notif_unread_idx",
                condition=models.Q(read_at__isnull=True),
            ),
            models.Index(fields=["recipient", "-created_at"], name="crm_notif_recipient_idx"),
            # What is still to go out by e-mail.
            models.Index(
                fields=["created_at"],
                name="crm_notif_unsent_idx",
                condition=models.Q(emailed_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return self.text


class LoginFailure(models.Model):
    """A failed log-in; the throttle counts these (crm.auth)."""

    username = models.CharField(_("username"), max_length=150)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=255, blank=True, default="")
    created_at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        verbose_name = _("failed log-in")
        verbose_name_plural = _("failed log-ins")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["username", "ip_address", "-created_at"]),
            models.Index(fields=["username", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.username} @ {self.ip_address}"


class ImportKind(models.TextChoices):
    CUSTOMERS = "customers", pgettext_lazy("import kind", "Customers")
    ORDERS = "orders", pgettext_lazy("import kind", "Orders")


class ImportStatus(models.TextChoices):
    ANALYSING = "analysing", pgettext_lazy("import status", "Reading the file")
    UPLOADED = "uploaded", pgettext_lazy("import status", "Waiting for column mapping")
    QUEUED = "queued", pgettext_lazy("import status", "Queued")
    RUNNING = "running", pgettext_lazy("import status", "Importing")
    SUCCEEDED = "succeeded", pgettext_lazy("import status", "Finished")
    FAILED = "failed", pgettext_lazy("import status", "Failed, nothing imported")


class ImportJob(models.Model):
    """One upload through the import wizard, from mapping to its outcome.

    The upload is kept encrypted (ImportUploadChunk) only until the job finishes;
    the rejected rows (also encrypted) stay so they can be downloaded, fixed and
    imported again. Only workers parse the file: what the wizard shows of it (the
    first rows, each column's values) is their `analysis`, kept encrypted.
    """

    kind = models.CharField(_("kind"), max_length=20, choices=ImportKind.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.PROTECT,
        related_name="import_jobs",
    )
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    language = models.CharField(_("language"), max_length=10, default=settings.LANGUAGE_CODE)
    file_name = models.CharField(_("file"), max_length=255)
    file_size = models.PositiveBigIntegerField(_("size"), default=0)
    # JSON: {"rows": [[row, cells]…] (the first data rows, typed: crm.sheets.cells),
    # "values": {column index: [[text, count]…] or null when too many}}
    analysis = EncryptedTextField(_("what the file holds"), blank=True, default="")
    sheet_name = models.CharField(_("sheet"), max_length=100, blank=True, default="")
    header_rows = models.JSONField(_("header rows"), default=list, blank=True)
    columns = models.JSONField(_("columns"), default=list, blank=True)
    mapping = models.JSONField(_("column mapping"), default=list, blank=True)
    options = models.JSONField(_("options"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=ImportStatus.choices, default=ImportStatus.UPLOADED
    )
    counts = models.JSONField(_("counts"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True, default="")
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["created_by", "-created_at"], name="crm_import_user_idx")]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"

    @property
    def is_finished(self) -> bool:
        return self.status in {ImportStatus.SUCCEEDED, ImportStatus.FAILED}


class ImportUploadChunk(models.Model):
    """A piece of an upload, encrypted: a file is stored and read back a piece at a
    time, so neither the web process nor a worker holds it whole."""

    job = models.ForeignKey(
        ImportJob,
        verbose_name=_("import"),
        on_delete=models.CASCADE,
        related_name="chunks",
        db_index=False,  # the unique (job, position) serves
    )
    position = models.PositiveIntegerField(_("position"))
    data = models.BinaryField(_("encrypted data"))

    class Meta:
        verbose_name = _("upload piece")
        verbose_name_plural = _("upload pieces")
        constraints = [
            models.UniqueConstraint(fields=["job", "position"], name="crm_import_chunk_unique")
        ]

    def __str__(self) -> str:
        return f"{self.job_id}:{self.position}"


class ImportRejectedRow(models.Model):
    """A row the import refused, or imported with warnings: its original cells and
    the warnings (both encrypted: they quote the file), and the reason refused."""

    job = models.ForeignKey(
        ImportJob, verbose_name=_("import"), on_delete=models.CASCADE, related_name="rejected"
    )
    row_number = models.PositiveIntegerField(_("row"))
    # "rejected", or the outcome of a row imported with warnings.
    outcome = models.CharField(_("outcome"), max_length=20, default="rejected")
    cells = EncryptedTextField(_("cells"), blank=True, default="")
    reason = models.TextField(_("reason"), blank=True, default="")
    # JSON: [[column key, its label, what was done], …]
    warnings = EncryptedTextField(_("warnings"), blank=True, default="")
    number = models.CharField(_("customer number"), max_length=20, blank=True, default="")

    class Meta:
        verbose_name = _("rejected row")
        verbose_name_plural = _("rejected rows")
        ordering = ["job", "row_number"]
        indexes = [models.Index(fields=["job", "row_number"], name="crm_import_rejected_idx")]

    def __str__(self) -> str:
        return f"{self.job_id}:{self.row_number}"


class JobRun(models.Model):
    """One run of a periodic job (crm.jobs): what it did, or why it did not."""

    class Status(models.TextChoices):
        RUNNING = "running", pgettext_lazy("job run", "Running")
        DONE = "done", pgettext_lazy("job run", "Done")
        FAILED = "failed", pgettext_lazy("job run", "Failed")
        SKIPPED = "skipped", pgettext_lazy("job run", "Skipped")

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", pgettext_lazy("job run", "Schedule")
        HAND = "hand", pgettext_lazy("job run", "By hand")

    job = models.CharField(_("job"), max_length=50)
    as_of = models.DateField(_("as of"), null=True, blank=True)
    trigger = models.CharField(
        _("started by"), max_length=10, choices=Trigger.choices, default=Trigger.SCHEDULE
    )
    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.RUNNING
    )
    counts = models.JSONField(_("counts"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True, default="")

    class Meta:
        verbose_name = _("job run")
        verbose_name_plural = _("job runs")
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["job", "-started_at"], name="crm_jobrun_job_idx")]

    def __str__(self) -> str:
        return f"{self.job} {self.started_at:%Y-%m-%d %H:%M} ({self.get_status_display()})"

    def error_text(self) -> str:
        """The error, translated where it is one of ours (an exception's own text
        stays as it is)."""
        return gettext(self.error) if self.error else ""

    def counts_text(self) -> str:
        """`name=value …` (in the job's order as it returned them; PostgreSQL's
        jsonb keeps its own once stored)."""
        return " ".join(f"{name}={value}" for name, value in self.counts.items())


class Reminded(models.Model):
    """A reminder given (crm.reminders), on its own or in a summary: the reminders
    job tells nobody of the same thing twice."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recipient"), on_delete=models.CASCADE,
        related_name="+",
    )  # fmt: skip
    key = models.CharField(_("key"), max_length=100)
    created_at = models.DateTimeField(_("reminded at"), default=timezone.now)

    class Meta:
        verbose_name = _("reminder given")
        verbose_name_plural = _("reminders given")
        constraints = [
            models.UniqueConstraint(fields=["recipient", "key"], name="crm_reminded_once"),
        ]

    def __str__(self) -> str:
        return self.key


class BackupRun(models.Model):
    """One backup (crm.backup): the file it wrote and what the file holds, or why
    the run failed, and the old backups it deleted."""

    class Status(models.TextChoices):
        RUNNING = "running", pgettext_lazy("backup run", "Running")
        OK = "ok", pgettext_lazy("backup run", "Succeeded")
        FAILED = "failed", pgettext_lazy("backup run", "Failed")

    Trigger = JobRun.Trigger  # by the schedule (the `backup` job) or by hand

    trigger = models.CharField(
        _("started by"), max_length=10, choices=Trigger.choices, default=Trigger.SCHEDULE
    )
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.RUNNING
    )
    path = models.CharField(_("file"), max_length=500, blank=True, default="")
    size = models.PositiveBigIntegerField(_("size (bytes)"), null=True, blank=True)
    table_count = models.PositiveIntegerField(_("tables"), null=True, blank=True)
    row_count = models.PositiveBigIntegerField(_("rows"), null=True, blank=True)
    file_count = models.PositiveIntegerField(_("private files"), null=True, blank=True)
    counts = models.JSONField(_("rows per table"), default=dict, blank=True)
    pruned = models.JSONField(_("old backups deleted"), default=list, blank=True)
    error = models.TextField(_("error"), blank=True, default="")

    class Meta:
        verbose_name = _("backup run")
        verbose_name_plural = _("backup runs")
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["status", "-started_at"], name="crm_backuprun_status_idx")]

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M} ({self.get_status_display()})"
