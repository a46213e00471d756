from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SegmentationConfig(AppConfig):
    name = "segmentation"
    verbose_name = _("Segmentation")

    def ready(self) -> None:
        from customers.history import register_history_key
        from customers.metrics import register_refresher
        from customers.panels import register_panel
        from segmentation import selectors, workbench
        from segmentation.models import ChurnOutcome
        from segmentation.runs import metrics_recompute
        from segmentation.scoring import segments_refresh

        workbench.register()
        register_panel(selectors.customer_panel)
        register_refresher(
            some=segments_refresh, everyone=lambda as_of: metrics_recompute(as_of).changed
        )
        register_history_key("churn_outcome", _("churn alert"), ChurnOutcome.choices)
        register_history_key("lost_reason", _("why lost"))
        from crm.jobs import Job, register_job

        register_job(
            Job(
                "recompute_metrics",
                "segmentation.jobs:recompute_metrics",
                _("Every customer's metrics, tiers, RFM, churn and value scores and stage."),
            )
        )
        register_job(
            Job(
                "churn_alerts",
                "segmentation.churn:churn_alerts",
                _(
                    "An alert and a win-back task for each customer newly at risk; "
                    "managers' digest."
                ),
            )
        )
