"""Segmentation in Django admin: the rules admins set, the nightly runs with
their fitted models, and the churn alerts (read-only)."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from crm.admin import AuditedAdminMixin, ReadOnlyAdminMixin, SettingsRowAdminMixin, run_seconds
from segmentation.models import ChurnEpisode, MetricsRun, SegmentationRules


@admin.register(SegmentationRules)
class SegmentationRulesAdmin(SettingsRowAdminMixin, AuditedAdminMixin, admin.ModelAdmin):
    """The thresholds (docs/segmentation.md); the next recompute (nightly, or
    `recompute_metrics`) applies them."""

    fieldsets = (
        (_("Frequency tiers"), {"fields": ("frequency_high", "frequency_medium")}),
        (_("Value tiers"), {"fields": ("value_mode", "value_high_share", "value_medium_share",
                                       "value_high_amount", "value_medium_amount")}),
        (_("Lifecycle stages"), {"fields": ("default_interval_days", "at_risk_factor",
                                            "churned_factor", "at_risk_p_alive", "churned_p_alive",
                                            "contact_drop_share")}),
    )  # fmt: skip


@admin.register(MetricsRun)
class MetricsRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Each recompute with the parameters its models were fitted to."""

    list_display = ("as_of", "started_at", "status", "buyers", "read_again", "model_parameters",
                    "spend_parameters", "stage_changes", "seconds")  # fmt: skip
    list_filter = ("status", "full")
    date_hierarchy = "started_at"

    @admin.display(description=_("BG/NBD (days)"))
    def model_parameters(self, run: MetricsRun) -> str:
        return run.parameters() if run.bgnbd_ok else gettext(run.bgnbd_note)

    @admin.display(description=_("Gamma-Gamma"))
    def spend_parameters(self, run: MetricsRun) -> str:
        if not run.gamma_gamma_ok:
            return gettext(run.gamma_gamma_note)
        return f"p={run.p:.4f} q={run.q:.4f} γ={run.gamma:.2f}"

    @admin.display(description=_("customers read again"))
    def read_again(self, run: MetricsRun) -> str:
        """Everyone (a full run), or how many the nightly run read again."""
        return gettext("everyone") if run.full else f"{run.recomputed:,}"

    @admin.display(description=_("seconds"))
    def seconds(self, run: MetricsRun) -> str:
        return run_seconds(run)


@admin.register(ChurnEpisode)
class ChurnEpisodeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Each churn alert (segmentation.churn): raised by the daily scan, ended by a
    purchase, "mark lost" on the customer page or the customer's deletion."""

    list_display = ("customer", "owner", "lifecycle", "started_on", "outcome", "ended_at")
    list_filter = ("lifecycle", "outcome", "started_on")
    list_select_related = ("customer", "owner")
    search_fields = ("customer__name", "customer__number")
    date_hierarchy = "started_on"
    raw_id_fields = ("customer", "owner", "task", "ended_by")
