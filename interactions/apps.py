from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InteractionsConfig(AppConfig):
    name = "interactions"
    verbose_name = _("Interactions")

    def ready(self) -> None:
        from interactions import workbench

        workbench.register()
        from crm.navigation import register_badge
        from interactions.selectors import due_tasks

        register_badge("tasks", due_tasks, "interactions.view_task")
        from customers.panels import register_panel
        from interactions import panels

        register_panel(panels.customer_panel)
        from customers.signals import customer_verified
        from interactions.freshness_audit import freshness_tasks_close

        customer_verified.connect(freshness_tasks_close, dispatch_uid="interactions.freshness")
