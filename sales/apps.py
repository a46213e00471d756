from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    name = "sales"
    verbose_name = _("Sales")

    def ready(self) -> None:
        from sales import reminders, workbench

        workbench.register()
        reminders.register()
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
        from customers.pool import register_recycle_activity

        register_recycle_activity(
            "last_purchase", selectors.LAST_PURCHASE_SQL, selectors.recycle_params
        )
        register_recycle_activity("open_deal", selectors.OPEN_DEAL_SQL, selectors.recycle_params)
        from customers.filters import register_purchases

        register_purchases(categories=selectors.product_categories, buyers=selectors.buyers)
        from customers.timeline import TimelineSource, register_timeline_source
        from sales.models import Order

        register_timeline_source(
            TimelineSource(
                kind="order",
                model=Order,
                moment="ordered_at",
                label=_("Orders"),
                template="sales/_timeline_order.html",
                position=10,
                permission="sales.view_order",
                related=("salesperson",),
            )
        )
