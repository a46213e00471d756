"""Interactions, tasks and tickets in Django admin: read-only (they change on their
pages, whose services keep the SLA clock, follow-ups and the audit right), except
the SLA policies, which admins set here."""

from __future__ import annotations

from django.contrib import admin

from crm.admin import AuditedAdminMixin, ReadOnlyAdminMixin
from interactions.models import Interaction, ServiceTicket, SlaPolicy, Task, TicketComment


@admin.register(SlaPolicy)
class SlaPolicyAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Hours to resolve a ticket of each priority (calendar hours; the clock stops
    while a ticket waits on the customer). A change applies to tickets opened or
    re-prioritised afterwards."""

    list_display = ("priority", "resolve_hours", "warn_hours")
    list_editable = ("resolve_hours", "warn_hours")
    fields = ("priority", "resolve_hours", "warn_hours")
    readonly_fields = ("priority",)

    def has_add_permission(self, request) -> bool:
        return False  # one row per priority, written by a migration

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Interaction)
class InteractionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("occurred_at", "subject", "channel", "customer", "user")
    list_filter = ("channel", "direction", "outcome")
    search_fields = ("subject", "customer__number")
    list_select_related = ("customer", "user")
    raw_id_fields = ("customer", "contact")
    show_full_result_count = False


@admin.register(Task)
class TaskAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("title", "assignee", "due_at", "priority", "source", "done_at")
    list_filter = ("source", "priority")
    search_fields = ("title", "customer__number", "assignee__username")
    list_select_related = ("assignee", "customer")
    raw_id_fields = ("customer", "interaction")
    show_full_result_count = False


class CommentInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = TicketComment
    fields = ("created_at", "author", "status_from", "status_to", "body")
    readonly_fields = fields
    extra = 0


@admin.register(ServiceTicket)
class ServiceTicketAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("number", "subject", "customer", "status", "priority", "assignee", "sla_due_at")
    list_filter = ("status", "priority", "category")
    search_fields = ("number", "subject", "customer__number")
    list_select_related = ("customer", "assignee")
    raw_id_fields = ("customer", "order")
    show_full_result_count = False
    inlines = (CommentInline,)
