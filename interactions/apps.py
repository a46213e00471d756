from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InteractionsConfig(AppConfig):
    name = "interactions"
    verbose_name = _("Interactions")

    def ready(self) -> None:
        from interactions import reminders, workbench

        workbench.register()
        reminders.register()
        from crm.navigation import register_badge
        from interactions import selectors
        from interactions.selectors import due_tasks

        register_badge("tasks", due_tasks, "interactions.view_task")
        from customers.panels import register_panel
        from interactions import panels

        register_panel(panels.customer_panel)
        from customers.signals import customer_verified
        from interactions.freshness_audit import freshness_tasks_close

        customer_verified.connect(freshness_tasks_close, dispatch_uid="interactions.freshness")
        from customers.pool import register_recycle_activity

        register_recycle_activity("last_touch", selectors.LAST_TOUCH_SQL)
        from crm.jobs import Job, register_job

        register_job(
            Job(
                "freshness_audit",
                "interactions.freshness_audit:freshness_audit",
                _("A verification task for each customer past the data-freshness policy."),
            )
        )
        from customers.timeline import TimelineSource, register_timeline_source
        from interactions.models import Interaction, ServiceTicket

        register_timeline_source(
            TimelineSource(
                kind="interaction",
                model=Interaction,
                moment="occurred_at",
                label=_("Interactions"),
                template="interactions/_timeline_interaction.html",
                position=20,
                permission="interactions.view_interaction",
                related=("user", "contact"),
            )
        )
        register_timeline_source(
            TimelineSource(
                kind="ticket",
                model=ServiceTicket,
                moment="created_at",
                label=_("Tickets"),
                template="interactions/_timeline_ticket.html",
                position=30,
                permission="interactions.view_serviceticket",
                related=("assignee",),
            )
        )
