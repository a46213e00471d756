"""What the dashboards rebuild after each nightly recompute of the customers'
figures (registered with `segmentation.runs.register_after_run`): the rollups
and the revenue forecasts (only for today: a past day leaves today's dashboards
alone), and the forecast's backtest."""

from __future__ import annotations

import datetime

from dashboards.forecast import backtest_ensure, forecast_prune, forecast_write
from dashboards.rollup import rollups_rebuild
from segmentation.runs import RunResult


def after_metrics_run(result: RunResult, *, today: datetime.date, clock) -> None:
    as_of = result.as_of
    if as_of >= today:
        rollups_rebuild(as_of, clock=clock, order_days=result.changes.order_days)
        forecast_write(as_of, result.inputs, result.bgnbd, result.gamma_gamma, result.average)
        forecast_prune(as_of)
        clock.lap("forecast")
    backtest_ensure(as_of, result.average)
    clock.lap("backtest")
