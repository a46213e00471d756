"""Demo data: once every app has seeded, the full recompute classifies the
customers and fills the dashboards' rollups and forecast (docs/dashboards.md)."""

from __future__ import annotations

from segmentation.runs import metrics_recompute


def seed(*, context, stdout) -> None:
    run = metrics_recompute()
    stdout.write(f"Customers classified (tiers, RFM, lifecycle): {run.buyers} have bought.")
