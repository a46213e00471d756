"""Segmentation's periodic jobs (crm.jobs): services returning their counts."""

from __future__ import annotations

import datetime

from segmentation.runs import metrics_recompute


def recompute_metrics(as_of: datetime.date) -> dict[str, int]:
    """The nightly recompute (segmentation.runs.metrics_recompute)."""
    run = metrics_recompute(as_of)
    return {
        "customers": run.customers,
        "buyers": run.buyers,
        "read_again": run.recomputed,
        "rows_changed": run.changed,
        "stage_changes": run.stage_changes,
    }
