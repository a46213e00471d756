from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeedbackConfig(AppConfig):
    name = "feedback"
    verbose_name = _("Feedback")

    def ready(self) -> None:
        from django.utils.translation import pgettext_lazy

        from crm.auditlog import register_label, register_values
        from crm.reminders import reminders_prepare
        from customers.panels import register_panel
        from feedback import selectors, workbench
        from feedback.loyalty import birthday_coupons_issue, points_follow_orders
        from feedback.models import CouponReason, Survey
        from sales.signals import orders_changed

        workbench.register()
        register_panel(selectors.customer_panel)
        orders_changed.connect(points_follow_orders, dispatch_uid="feedback.loyalty")
        reminders_prepare(birthday_coupons_issue)  # the coupon the birthday reminder names
        register_label("survey", pgettext_lazy("audit detail", "Survey"), model=Survey)
        register_label("invitation", "", hidden=True)
        register_label("questions", pgettext_lazy("audit detail", "Questions"))
        register_label("invitations", pgettext_lazy("audit detail", "Invitations"))
        register_label("customers", pgettext_lazy("audit detail", "Customers"))
        register_values("rule", CouponReason.choices)
