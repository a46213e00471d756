from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    name = "sales"
    verbose_name = _("Sales")

    def ready(self) -> None:
        from sales import workbench

        workbench.register()
        from django.utils.translation import pgettext_lazy

        from crm.auditlog import register_label

        register_label("refund", "", hidden=True)
        register_label("signed_file", pgettext_lazy("audit detail", "Signed copy"))
        register_label("revenue", pgettext_lazy("audit detail", "Revenue target"))
        register_label("products", pgettext_lazy("audit detail", "Products created"))
        from crm.models import ImportKind
        from customers.import_jobs import import_kind_register
        from sales import selectors
        from sales.imports import import_kind

        import_kind_register(ImportKind.ORDERS, import_kind())
        from customers.panels import register_panel

        register_panel(selectors.customer_panel)
