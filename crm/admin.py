from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.contrib.auth.models import Group
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from crm.audit import audit_record, diff, snapshot
from crm.fields import blind_index
from crm.models import (
    RECORD_FIELDS,
    AuditAction,
    AuditEvent,
    BackupRun,
    ImportJob,
    JobRun,
    LoginFailure,
    Notification,
    Team,
    Timestamped,
    User,
)
from crm.normalise import phone_normalise
from crm.services import (
    group_permission_snapshot,
    login_unlock,
    permission_changes_record,
    user_permission_snapshot,
)


class SettingsRowAdminMixin:
    """A company's one row of rules (loyalty, segmentation): changed, never added
    or deleted; `updated_at` stamped on each save."""

    exclude = ("updated_at",)

    def save_model(self, request, obj, form, change):
        obj.updated_at = timezone.now()
        super().save_model(request, obj, form, change)

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class BookkeepingLastMixin:
    def get_fields(self, request, obj=None):
        """A record's own fields first and its bookkeeping (version, who entered
        it, when) last, where the admin lets the model's fields set the order:
        the abstract bases (crm.models.Timestamped…) put theirs first."""
        fields = list(super().get_fields(request, obj))
        if self.fields or self.fieldsets or not issubclass(self.model, Timestamped):
            return fields
        return [f for f in fields if f not in RECORD_FIELDS] + [
            f for f in RECORD_FIELDS if f in fields
        ]


class AuditedAdminMixin(BookkeepingLastMixin):
    """Admin writes land in the audit log like every other write."""

    permission_snapshot = None  # a function(obj) -> dict, for models with roles

    def save_model(self, request, obj, form, change):
        before = snapshot(type(obj).objects.get(pk=obj.pk)) if change else {}
        super().save_model(request, obj, form, change)
        changes = diff(before, snapshot(obj))
        if changes or not change:
            audit_record(
                actor=request.user,
                action=AuditAction.UPDATE if change else AuditAction.CREATE,
                target=obj,
                changes=changes,
                request=request,
                sensitive={"password"},
            )

    def save_related(self, request, form, formsets, change):
        obj = form.instance
        before = self.permission_snapshot(obj) if self.permission_snapshot and change else None
        super().save_related(request, form, formsets, change)
        if self.permission_snapshot:
            after = self.permission_snapshot(obj)
            permission_changes_record(
                actor=request.user,
                target=obj,
                before=before or {name: [] for name in after},
                after=after,
                request=request,
            )

    def delete_model(self, request, obj):
        audit_record(actor=request.user, action=AuditAction.DELETE, target=obj, request=request)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            audit_record(actor=request.user, action=AuditAction.DELETE, target=obj, request=request)
        super().delete_queryset(request, queryset)


class KehuUserChangeForm(UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"

    def clean_mobile(self):
        return phone_normalise(self.cleaned_data.get("mobile", ""))


class KehuUserCreationForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "last_name", "first_name", "email", "team", "language")


@admin.register(User)
class UserAdmin(AuditedAdminMixin, DjangoUserAdmin):
    form = KehuUserChangeForm
    add_form = KehuUserCreationForm
    permission_snapshot = staticmethod(user_permission_snapshot)
    list_display = ("username", "full_name", "team", "email", "is_active", "is_staff", "last_login")
    list_filter = ("is_active", "is_staff", "is_superuser", "groups", "team", "language")
    list_select_related = ("team",)
    search_fields = ("username", "first_name", "last_name", "email")
    actions = ["unlock_login"]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (
            _("Personal info"),
            {"fields": ("last_name", "first_name", "email", "mobile", "language")},
        ),
        (_("Organisation"), {"fields": ("team",)}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": (
                    "username",
                    "last_name",
                    "first_name",
                    "email",
                    "team",
                    "language",
                    "password1",
                    "password2",
                ),
            },
        ),
    )

    @admin.display(description=_("name"))
    def full_name(self, obj):
        return obj.get_full_name()

    def save_model(self, request, obj, form, change):
        obj.mobile_index = blind_index(obj.mobile)
        super().save_model(request, obj, form, change)

    @admin.action(description=_("Unlock log-in for the selected users"))
    def unlock_login(self, request, queryset):
        count = sum(
            1
            for user in queryset
            if login_unlock(actor=request.user, username=user.username, request=request)
        )
        self.message_user(
            request,
            ngettext("%(count)d user unlocked.", "%(count)d users unlocked.", count)
            % {"count": count},
            messages.SUCCESS,
        )


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(AuditedAdminMixin, DjangoGroupAdmin):
    permission_snapshot = staticmethod(group_permission_snapshot)


@admin.register(Team)
class TeamAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "manager", "member_count", "created_at")
    search_fields = ("name", "manager__username", "manager__last_name")
    autocomplete_fields = ("manager",)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("manager")
            .annotate(_member_count=Count("members"))
        )

    @admin.display(description=_("members"), ordering="_member_count")
    def member_count(self, obj):
        return obj._member_count


def run_seconds(run) -> str:
    """How long a run (with started_at and finished_at) took, or — while it runs."""
    if run.finished_at is None:
        return "—"
    return f"{(run.finished_at - run.started_at).total_seconds():.1f}"


class ReadOnlyAdminMixin(BookkeepingLastMixin):
    """Viewing only: writes go through the CRM pages and their services."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    pass


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "actor_repr",
        "action",
        "target_type",
        "target_repr",
        "ip_address",
    )
    list_filter = ("action", "target_type", "created_at")
    search_fields = ("actor_repr", "target_repr", "target_id", "ip_address")
    date_hierarchy = "created_at"
    list_select_related = ("target_type",)
    show_full_result_count = False


@admin.register(ImportJob)
class ImportJobAdmin(ReadOnlyAdmin):
    """Imports, read-only: the outcome of each (the rows themselves stay private)."""

    list_display = ("created_at", "file_name", "created_by", "kind", "status", "finished_at")
    list_filter = ("kind", "status", "created_at")
    search_fields = ("file_name", "created_by__username")
    list_select_related = ("created_by",)
    fields = (
        "kind", "file_name", "file_size", "created_by", "created_at", "status", "counts",
        "error", "started_at", "finished_at", "sheet_name", "columns", "mapping", "options",
    )  # fmt: skip


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "recipient", "kind", "text", "read_at")
    list_filter = ("kind", ("read_at", admin.EmptyFieldListFilter))
    search_fields = ("text", "recipient__username")
    list_select_related = ("recipient",)
    autocomplete_fields = ("recipient",)


@admin.register(LoginFailure)
class LoginFailureAdmin(admin.ModelAdmin):
    list_display = ("created_at", "username", "ip_address", "user_agent")
    list_filter = ("created_at",)
    search_fields = ("username", "ip_address")
    actions = ["unlock"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Unlock log-in for these usernames"))
    def unlock(self, request, queryset):
        usernames = set(queryset.values_list("username", flat=True))
        for username in usernames:
            login_unlock(actor=request.user, username=username, request=request)
        self.message_user(
            request,
            ngettext(
                "%(count)d username unlocked.", "%(count)d usernames unlocked.", len(usernames)
            )
            % {"count": len(usernames)},
            messages.SUCCESS,
        )


@admin.register(JobRun)
class JobRunAdmin(ReadOnlyAdmin):
    """Every run of the periodic jobs (crm.jobs): when, what it did, or its error."""

    list_display = ("job", "as_of", "trigger", "started_at", "seconds", "status", "counts_text")
    list_filter = ("job", "status", "trigger")
    date_hierarchy = "started_at"

    @admin.display(description=_("counts"))
    def counts_text(self, run: JobRun) -> str:
        return run.counts_text() or "—"

    @admin.display(description=_("seconds"))
    def seconds(self, run: JobRun) -> str:
        return run_seconds(run)


@admin.register(BackupRun)
class BackupRunAdmin(ReadOnlyAdmin):
    """Every backup (crm.backup): its file and what it holds, or its error, and the
    old backups it deleted. Restoring is `manage.py restore_backup` (docs/operations.md)."""

    list_display = (
        "started_at", "trigger", "seconds", "status", "path", "size", "table_count", "row_count",
        "file_count",
    )  # fmt: skip
    list_filter = ("status", "trigger")
    date_hierarchy = "started_at"

    @admin.display(description=_("seconds"))
    def seconds(self, run: BackupRun) -> str:
        return run_seconds(run)
