from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DashboardsConfig(AppConfig):
    name = "dashboards"
    verbose_name = _("Dashboards")

    def ready(self) -> None:
        from dashboards.nightly import after_metrics_run
        from segmentation.runs import register_after_run

        register_after_run(after_metrics_run)
