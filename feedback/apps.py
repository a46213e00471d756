from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeedbackConfig(AppConfig):
    name = "feedback"
    verbose_name = _("Feedback")

    def ready(self) -> None:
        from django.utils.translation import pgettext_lazy

        from crm.auditlog import register_label, register_values
        from customers.panels import register_panel
        from feedback import reminders, selectors, workbench
        from feedback.loyalty import points_follow_orders
        from feedback.models import CouponReason, Survey
        from sales.signals import orders_changed

        workbench.register()
        register_panel(selectors.customer_panel)
        orders_changed.connect(points_follow_orders, dispatch_uid="feedback.loyalty")
        reminders.register()
        from crm.jobs import Job, register_job

        register_job(
            Job(
                "loyalty_nightly",
                "feedback.loyalty:loyalty_nightly",
                _("Points for orders not counted yet, expiry of old points, birthday coupons."),
            )
        )
        register_label("survey", pgettext_lazy("audit detail", "Survey"), model=Survey)
        register_label("invitation", "", hidden=True)
        register_label("questions", pgettext_lazy("audit detail", "Questions"))
        register_label("invitations", pgettext_lazy("audit detail", "Invitations"))
        register_label("customers", pgettext_lazy("audit detail", "Customers"))
        register_values("rule", CouponReason.choices)
        from customers.timeline import TimelineSource, register_timeline_source
        from feedback.models import Feedback

        register_timeline_source(
            TimelineSource(
                kind="feedback",
                model=Feedback,
                moment="created_at",
                label=_("Feedback"),
                template="feedback/_timeline_feedback.html",
                position=40,
                permission="feedback.view_feedback",
                related=("category",),
            )
        )
