"""The nightly recompute of everyone's figures, scores, tiers and stage
(docs/segmentation.md): `metrics_recompute(as_of)` reads the figures set-based
into a temporary table, fits the models, scores and classifies everyone
(segmentation.scoring) and keeps a `MetricsRun`; then the stages move in
batches while the steps registered with `register_after_run` (the sales days,
the dashboards' rollups and forecasts) rebuild what reads the figures."""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from decimal import Decimal

from django.db import connection, connections, transaction
from django.forms.models import model_to_dict
from django.utils import timezone

from sales.rollup import sales_days_rebuild
from segmentation import clv
from segmentation.figures import (
    FIGURES_VERSION,
    KEPT,
    Changes,
    figures_changed,
    fresh_params,
    fresh_sql,
)
from segmentation.models import MetricsRun, SegmentationRules
from segmentation.scoring import (
    BEHIND,
    POPULATION,
    SCORES_COPIED,
    STAGE_BATCH,
    WORK_MEM,
    breakpoints,
    classes,
    inputs_read,
    latest_run,
    rows_apply,
    scores_compute,
    stages_move,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunResult:
    """What a run found and fitted, for the steps after it (register_after_run):
    the day, the changes (with the order days written), the models' inputs, the
    fitted models and the average order value."""

    as_of: datetime.date
    changes: Changes
    inputs: clv.Inputs
    bgnbd: clv.BgNbd
    gamma_gamma: clv.GammaGamma
    average: float


# The steps after a run that rebuild what reads the figures (the dashboards),
# each `step(result, *, today, clock)`; the apps above register them in ready().
_AFTER_RUN: list[Callable] = []


def register_after_run(step: Callable) -> None:
    if step not in _AFTER_RUN:
        _AFTER_RUN.append(step)


class _Clock:
    """Seconds per step, kept on the run."""

    def __init__(self):
        self.timings: dict[str, float] = {}
        self._last = time.monotonic()

    def lap(self, step: str) -> None:
        now = time.monotonic()
        self.timings[step] = round(now - self._last, 2)
        self._last = now


def metrics_recompute(as_of: datetime.date | None = None, *, full: bool = False) -> MetricsRun:
    """Everyone's figures, model fit and scores, tiers, RFM and stage at the end
    of `as_of` (today); returns the run with the fitted parameters. The figures are
    read again from the orders and interactions for the customers whose history
    changed or whose windows moved since their rows were computed, and carried
    over to the day for the others (segmentation.figures.figures_changed); for
    everyone when `full`, on the first run and after a change of definitions. The
    figures and scores are written in one transaction; the stages then move in
    batches and the dashboards' rollups are rebuilt, each in its own. A failure is
    recorded on the run and raised."""
    as_of = as_of or timezone.localdate()
    rules = SegmentationRules.current()
    run = MetricsRun.objects.create(
        as_of=as_of, rules=model_to_dict(rules, exclude=["id", "updated_at", "updated_by"])
    )
    clock = _Clock()
    today = timezone.localdate()
    try:
        own_transaction = not connection.in_atomic_block
        with transaction.atomic():
            if own_transaction:
                # One snapshot, taken after the tables are locked: the log emptied and
                # the orders read agree, even with an UPDATE of orders committed
                # between two statements of the run (it is in the log for next time).
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            result = _recompute(run, rules, as_of, clock, full=full)
    except Exception as error:
        _failed(run, clock, f"{type(error).__name__}: {error}", status=MetricsRun.Status.FAILED)
        raise
    # The figures and scores are in (the run is done as far as saves go); a failure
    # from here on is recorded beside them.
    try:
        _after_the_figures(run, result, today, clock)
    except Exception as error:
        _failed(run, clock, f"after the figures: {type(error).__name__}: {error}")
        raise
    run.finished_at = timezone.now()
    run.timings = clock.timings
    run.save(update_fields=["finished_at", "timings", "stage_changes"])
    log.info("metrics recomputed at %s: %s (%s)", as_of, run.parameters(), run.timings)
    return run


def _after_the_figures(run: MetricsRun, result: RunResult, today, clock: _Clock) -> None:
    """The stages (a day in the past recomputes the figures as they were, for
    checks and backtests: the stages shown today stay as they are) and the
    dashboards, which read what was committed. When the run owns its
    transactions the two go side by side, the dashboards on a connection of
    their own (they read the metrics, never the stage); inside a caller's
    transaction (a test, the demo seed) one after the other, on its connection."""

    def dashboards(own_clock: _Clock) -> dict:
        with transaction.atomic():
            _dashboards_rebuild(result, today, clock=own_clock)
        return own_clock.timings

    def stages() -> None:
        if result.as_of >= today:
            run.stage_changes = _stages_sync()
            clock.lap("stages")

    if connection.in_atomic_block:
        stages()
        dashboards(clock)
        return
    with ThreadPoolExecutor(max_workers=1) as pool:
        beside = pool.submit(_on_own_connection, dashboards, _Clock())
        stages()
        clock.timings.update(beside.result())


def _on_own_connection(work, *args):
    """Run `work` in this thread on its own database connection, closed after."""
    try:
        return work(*args)
    finally:
        connections.close_all()


def _failed(run: MetricsRun, clock: _Clock, error: str, status: str | None = None) -> None:
    run.status = status or run.status
    run.error = error[:2000]
    run.finished_at = timezone.now()
    run.timings = clock.timings
    run.save(update_fields=["status", "error", "finished_at", "timings", "stage_changes"])


def _stages_sync() -> int:
    """Every live customer's stage to its lifecycle: the customers whose stage is
    behind found in one read, then moved STAGE_BATCH at a time, each batch in its
    own transaction, so saves wait for a batch at most; how many moved."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
        cursor.execute(BEHIND)
        behind = [pk for (pk,) in cursor.fetchall()]
    moved = 0
    for start in range(0, len(behind), STAGE_BATCH):
        with transaction.atomic():
            ids = behind[start : start + STAGE_BATCH]
            moved += stages_move("c.id = ANY(%(ids)s::bigint[])", {"ids": ids})
    return moved


def _dashboards_rebuild(result: RunResult, today: datetime.date, *, clock) -> None:
    """Sales by day (only the days of the orders written since the last run,
    unless the run read everyone), then the steps registered after a run."""
    if result.as_of >= today:  # a past day leaves today's sales days alone
        sales_days_rebuild(result.changes.order_days)
        clock.lap("sales_days")
    for step in _AFTER_RUN:
        step(result, today=today, clock=clock)


def _recompute(
    run: MetricsRun, rules: SegmentationRules, as_of: datetime.date, clock, *, full: bool
) -> RunResult:
    """The locked part; returns what the steps after it need: the changes found
    and the models."""
    with connection.cursor() as cursor:
        # Saves lock a customer, then its metrics row; the run takes both tables
        # first, in that order, so it never deadlocks with a save nor overwrites one
        # made while it reads. Reads go on; writes to customers wait for the run.
        cursor.execute("SET LOCAL lock_timeout = '60s'")
        cursor.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
        # Compiling these long statements costs more than it saves (1.3 s of 3.9 s
        # for the figures of 20,000 customers at a million).
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("LOCK TABLE customers_customer, customers_customermetrics IN EXCLUSIVE MODE")
        clock.lap("lock")
        previous = latest_run()
        full = full or previous is None or previous.figures_version != FIGURES_VERSION
        changes = figures_changed(as_of, full=full, consume=as_of >= timezone.localdate())
        if previous is not None and previous.error:
            # The last run failed after its figures, with the log of its order days
            # emptied: tonight every sales day and product month is rebuilt.
            changes = replace(changes, order_days=None)
        clock.lap("changes")
        ids = changes.customer_ids
        params = fresh_params(as_of, ids, untrusted=changes.logged)
        source = fresh_sql(None) if ids is None else f"{fresh_sql(ids)} UNION ALL {KEPT}"
        # Dropped at commit; a run nested in an outer transaction (tests) drops its own.
        cursor.execute("DROP TABLE IF EXISTS kehu_fresh")
        cursor.execute(f"CREATE TEMP TABLE kehu_fresh ON COMMIT DROP AS {source}", params)
        rows = cursor.rowcount
        cursor.execute("ANALYZE kehu_fresh")
        clock.lap("figures")
        cursor.execute(POPULATION)
        customers, buyers, typical, average = cursor.fetchone()
    run.customers, run.buyers = customers, buyers
    run.full, run.figures_version = ids is None, FIGURES_VERSION
    run.recomputed = rows if ids is None else len(ids)
    run.typical_interval_days = round(Decimal(typical), 1) if typical is not None else None
    run.average_order_value = round(average, 2) if average is not None else None
    average = float(run.average_order_value or 0)

    inputs = inputs_read("SELECT * FROM kehu_fresh", params)
    clock.lap("inputs")
    bgnbd = clv.bgnbd_fit(inputs.x, inputs.t_x, inputs.T)
    gamma_gamma = clv.gamma_gamma_fit(inputs.x, inputs.m)
    clock.lap("fit")
    run.bgnbd_ok, run.bgnbd_note = bgnbd.ok, bgnbd.reason
    if bgnbd.ok:
        run.r, run.alpha, run.a, run.b = bgnbd.r, bgnbd.alpha, bgnbd.a, bgnbd.b
        run.log_likelihood = bgnbd.log_likelihood
    run.gamma_gamma_ok, run.gamma_gamma_note = gamma_gamma.ok, gamma_gamma.reason
    if gamma_gamma.ok:
        run.p, run.q, run.gamma = gamma_gamma.p, gamma_gamma.q, gamma_gamma.gamma
    scores_compute(inputs, bgnbd, gamma_gamma, average).copy_into("kehu_scores")
    clock.lap("scores")
    run.breakpoints = breakpoints(rules)
    clock.lap("breakpoints")
    params.update(classes(rules, run.breakpoints, run.typical_interval_days))
    run.changed = rows_apply("SELECT * FROM kehu_fresh", SCORES_COPIED, params, many=True)
    clock.lap("apply")
    # Done as far as the saves are concerned: they score on this run's scales.
    run.status = MetricsRun.Status.DONE
    run.timings = clock.timings
    run.save()
    return RunResult(as_of, changes, inputs, bgnbd, gamma_gamma, average)
