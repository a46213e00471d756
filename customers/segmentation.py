"""Every customer classified at an as-of day (issue 8, docs/segmentation.md):
contact figures, the BG/NBD and Gamma-Gamma scores, frequency and value tiers,
RFM scores and segments, the lifecycle stage by the customer's own rhythm, the
next expected purchase and a key-account suggestion, all on the customer's
metrics row.

`metrics_recompute(as_of)` does it for everyone, set-based, and keeps a
`MetricsRun` with the fitted parameters and the cut-offs of the scores;
`segments_refresh(ids)` does it for a few customers after a save, in the
caller's transaction, on the last run's parameters and cut-offs, so a customer
refreshed between two nights is scored on the same scale as everyone else.

Scores: among the buying customers, a value's position p is the share of
customers below it plus half the share equal to it, and its score is
1 + ⌊5p⌋ (at most 5). Ties share a score, an untied population splits in
exact fifths, and a population that is all alike scores 3 (nothing tells them
apart). The cut-offs kept with the run are the lowest values reaching each
fifth.
"""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from customers import clv
from customers.metrics import day_end, metrics_refresh
from customers.models import (
    CustomerMetrics,
    MetricsRun,
    SegmentationRules,
    Stage,
    ValueTierMode,
)

log = logging.getLogger(__name__)

SCORE_EDGES = (Decimal("0.2"), Decimal("0.4"), Decimal("0.6"), Decimal("0.8"))
HORIZON_DAYS = 90  # expected purchases over the next 90 days
VALUE_DAYS = 365  # expected value over the next 12 months
CONTACT_WINDOW_DAYS = 90
USUAL_WINDOW_DAYS = 365  # the usual contact rate: the year before the last 90 days

_ALL_LIVE = "SELECT id AS customer_id FROM customers_customer WHERE deleted_at IS NULL"
_SOME = "SELECT DISTINCT unnest(%(ids)s::bigint[]) AS customer_id"

# Contact figures at the as-of day: days since the last interaction, how many in
# the last 90 days, and the customer's usual number per 90 days, from the year
# before those (or from the customer's first contact, when later; unknown when
# that leaves less than 90 days).
_CONTACTS = """
WITH targets AS ({targets}),
stats AS (
    SELECT t.customer_id,
           %(as_of)s::date - (max(i.occurred_at) AT TIME ZONE %(zone)s)::date AS since,
           count(*) FILTER (WHERE i.occurred_at >= %(window)s) AS recent,
           count(*) FILTER (WHERE i.occurred_at >= %(usual_from)s
                            AND i.occurred_at < %(window)s) AS before,
           greatest(%(usual_from)s, least(min(i.occurred_at), min(c.created_at))) AS known_from
    FROM targets t
    JOIN customers_customer c ON c.id = t.customer_id
    JOIN interactions_interaction i ON i.customer_id = t.customer_id AND i.occurred_at < %(until)s
    GROUP BY t.customer_id
),
fresh AS (
    SELECT t.customer_id, s.since, coalesce(s.recent, 0) AS recent,
           CASE WHEN %(window)s - s.known_from >= interval '90 days'
                THEN round(s.before * 90.0
                           / (extract(epoch FROM %(window)s - s.known_from) / 86400)::numeric, 1)
           END AS usual
    FROM targets t LEFT JOIN stats s ON s.customer_id = t.customer_id
)
UPDATE customers_customermetrics m
SET days_since_contact = f.since, interactions_90d = f.recent, usual_interactions_90d = f.usual
FROM fresh f
WHERE m.customer_id = f.customer_id
  AND (m.days_since_contact, m.interactions_90d, m.usual_interactions_90d)
      IS DISTINCT FROM (f.since, f.recent, f.usual)
"""

_SCORES = """
WITH fresh AS (
    SELECT t.customer_id, s.p_alive, s.purchases, s.value
    FROM ({targets}) t
    LEFT JOIN unnest(%(scored)s::bigint[], %(p_alive)s::numeric[], %(purchases)s::numeric[],
                     %(value)s::numeric[]) AS s(customer_id, p_alive, purchases, value)
        ON s.customer_id = t.customer_id
)
UPDATE customers_customermetrics m
SET p_alive = f.p_alive, expected_purchases_90d = f.purchases, expected_value_12m = f.value
FROM fresh f
WHERE m.customer_id = f.customer_id
  AND (m.p_alive, m.expected_purchases_90d, m.expected_value_12m)
      IS DISTINCT FROM (f.p_alive, f.purchases, f.value)
"""

# The lowest value reaching each position (SCORE_EDGES or the value tiers' edges)
# among the live buying customers; NULL where no value reaches it.
_BREAKPOINTS = """
WITH buyers AS (
    SELECT m.as_of - m.days_since_purchase - DATE '2000-01-01' AS r,
           m.purchase_days AS f, m.total_spent AS m
    FROM customers_customermetrics m
    JOIN customers_customer c ON c.id = m.customer_id AND c.deleted_at IS NULL
    WHERE m.purchase_days > 0
),
counted AS (
    SELECT {column}::numeric AS v, count(*) AS n
    FROM buyers GROUP BY {column}
),
placed AS (
    SELECT v, (sum(n) OVER (ORDER BY v) - n + n / 2.0) / sum(n) OVER () AS p FROM counted
)
SELECT e, (SELECT min(v) FROM placed WHERE p >= e) FROM unnest(%(edges)s::numeric[]) AS e
ORDER BY e
"""

_POPULATION = """
SELECT (SELECT count(*) FROM customers_customer WHERE deleted_at IS NULL),
       count(*) FILTER (WHERE m.purchase_days > 0),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY m.purchase_interval_days)
           FILTER (WHERE m.purchase_days >= 2),
       sum(m.total_spent) FILTER (WHERE m.purchase_days > 0)
           / nullif(sum(m.purchase_days), 0)
FROM customers_customermetrics m
JOIN customers_customer c ON c.id = m.customer_id AND c.deleted_at IS NULL
"""


# Scores: 1 + how many of the run's cut-offs the value reaches (NULL with no
# run yet); the named segments over R (rows) × F (columns), docs/segmentation.md.
_CLASSIFY = """
WITH targets AS ({targets}),
scored AS (
    SELECT m.customer_id, m.purchase_days, m.total_spent, m.days_since_purchase,
           m.p_alive, m.interactions_90d, m.usual_interactions_90d, c.is_key_account,
           CASE WHEN m.purchase_days > 0 AND %(r_cuts)s::numeric[] IS NOT NULL THEN 1 + (
               SELECT count(*) FROM unnest(%(r_cuts)s::numeric[]) AS cut
               WHERE m.as_of - m.days_since_purchase - DATE '2000-01-01' >= cut)::int END AS r,
           CASE WHEN m.purchase_days > 0 AND %(f_cuts)s::numeric[] IS NOT NULL THEN 1 + (
               SELECT count(*) FROM unnest(%(f_cuts)s::numeric[]) AS cut
               WHERE m.purchase_days >= cut)::int END AS f,
           CASE WHEN m.purchase_days > 0 AND %(m_cuts)s::numeric[] IS NOT NULL THEN 1 + (
               SELECT count(*) FROM unnest(%(m_cuts)s::numeric[]) AS cut
               WHERE m.total_spent >= cut)::int END AS mon,
           CASE WHEN m.purchase_days_12m >= %(frequency_high)s THEN 'high'
                WHEN m.purchase_days_12m >= %(frequency_medium)s THEN 'medium'
                WHEN m.purchase_days_12m >= 1 THEN 'low' ELSE 'none' END AS frequency_tier,
           CASE WHEN m.purchase_days = 0 OR NOT %(value_known)s THEN ''
                WHEN m.total_spent >= %(value_high)s THEN 'high'
                WHEN m.total_spent >= %(value_medium)s THEN 'medium' ELSE 'low' END AS value_tier,
           m.days_since_purchase / coalesce(
               CASE WHEN m.purchase_days >= 2 THEN m.purchase_interval_days END,
               %(typical_interval)s)::numeric AS overdue,
           m.usual_interactions_90d >= 1
               AND m.interactions_90d < m.usual_interactions_90d * %(drop_share)s AS dropped,
           CASE WHEN m.purchase_days >= 2 THEN
               m.as_of - m.days_since_purchase + round(m.purchase_interval_days)::int END AS next
    FROM targets t
    JOIN customers_customermetrics m ON m.customer_id = t.customer_id
    JOIN customers_customer c ON c.id = m.customer_id
),
staged AS (
    SELECT x.*,
           CASE WHEN x.r IS NULL THEN ''
                WHEN x.r = 1 AND x.f = 1 THEN 'lost'
                WHEN x.r <= 2 AND x.f <= 2 THEN 'hibernating'
                WHEN x.r <= 2 AND x.f <= 4 THEN 'at_risk'
                WHEN x.r <= 2 THEN 'cant_lose'
                WHEN x.r = 3 AND x.f <= 2 THEN 'sleepy'
                WHEN x.r = 3 AND x.f = 3 THEN 'attention'
                WHEN x.r = 4 AND x.f = 1 THEN 'promising'
                WHEN x.r = 5 AND x.f = 1 THEN 'new'
                WHEN x.f <= 3 THEN 'potential'
                WHEN x.r = 5 THEN 'champions'
                ELSE 'loyal' END AS segment,
           CASE WHEN x.purchase_days = 0 THEN 'lead'
                WHEN x.overdue > %(churned_factor)s
                     AND (x.p_alive IS NULL OR x.p_alive < %(churned_p)s) THEN 'churned'
                WHEN x.overdue > %(at_risk_factor)s OR x.p_alive < %(at_risk_p)s
                     OR (x.dropped AND x.overdue > 1) THEN 'at_risk'
                ELSE 'active' END AS lifecycle
    FROM scored x
),
fresh AS (
    SELECT s.*, s.value_tier = 'high' AND s.frequency_tier IN ('high', 'medium')
               AND s.lifecycle IN ('active', 'at_risk') AND NOT s.is_key_account AS suggested
    FROM staged s
)
UPDATE customers_customermetrics m
SET recency_score = f.r, frequency_score = f.f, monetary_score = f.mon, rfm_segment = f.segment,
    frequency_tier = f.frequency_tier, value_tier = f.value_tier, lifecycle = f.lifecycle,
    next_purchase_on = f.next, key_account_suggested = f.suggested
FROM fresh f
WHERE m.customer_id = f.customer_id
  AND (m.recency_score, m.frequency_score, m.monetary_score, m.rfm_segment, m.frequency_tier,
       m.value_tier, m.lifecycle, m.next_purchase_on, m.key_account_suggested)
      IS DISTINCT FROM (f.r, f.f, f.mon, f.segment, f.frequency_tier, f.value_tier,
                        f.lifecycle, f.next, f.suggested)
"""

# The customer's stage follows the computed lifecycle; each move is kept in the
# stage history with no actor (the system moved it).
_STAGES = """
WITH targets AS ({targets}),
moved AS (
    SELECT c.id, c.stage AS old, coalesce(m.lifecycle, 'lead') AS new
    FROM targets t
    JOIN customers_customer c ON c.id = t.customer_id AND c.deleted_at IS NULL
    LEFT JOIN customers_customermetrics m ON m.customer_id = c.id
    WHERE c.stage <> coalesce(m.lifecycle, 'lead')
    FOR UPDATE OF c
),
updated AS (
    UPDATE customers_customer c SET stage = moved.new, stage_changed_at = %(now)s
    FROM moved WHERE c.id = moved.id
)
INSERT INTO customers_stagechange (customer_id, from_stage, to_stage, changed_at, actor_id)
SELECT id, old, new, %(now)s, NULL FROM moved
"""


def _window(as_of: datetime.date) -> dict:
    until = day_end(as_of)
    return {
        "as_of": as_of,
        "zone": settings.TIME_ZONE,
        "until": until,
        "window": until - datetime.timedelta(days=CONTACT_WINDOW_DAYS),
        "usual_from": until - datetime.timedelta(days=CONTACT_WINDOW_DAYS + USUAL_WINDOW_DAYS),
    }


def _execute(sql: str, customer_ids: list[int] | None, params: dict) -> int:
    if customer_ids is None:
        targets = _ALL_LIVE
    else:
        targets = _SOME
        params = {**params, "ids": customer_ids}
    with connection.cursor() as cursor:
        cursor.execute(sql.format(targets=targets), params)
        return cursor.rowcount


def _column(values: np.ndarray, digits: int, upper: float) -> list[float | None]:
    """Rounded for the column; None where the model gives nothing usable (NaN or
    infinity at extreme parameters, or a figure beyond the column)."""
    usable = np.isfinite(values) & (values >= 0) & (values <= upper)
    rounded = np.round(np.where(usable, values, 0.0), digits)
    return [float(v) if ok else None for v, ok in zip(rounded, usable, strict=True)]


def _scores_write(
    customer_ids: list[int] | None,
    inputs: clv.Inputs,
    bgnbd: clv.BgNbd | None,
    gamma_gamma: clv.GammaGamma | None,
    average_value: float,
) -> int:
    """P(alive), expected purchases in 90 days and expected value in 12 months
    for the buying customers; NULL for the others and whenever BG/NBD did not
    fit. A customer who never came back has no P(alive): the model holds them
    alive by construction (Fader et al. 2005 §5), the interval rule judges them."""
    scored = np.zeros(0, dtype=np.int64)
    p_alive = purchases = value = np.zeros(0)
    if bgnbd is not None and bgnbd.ok and len(inputs.customer_ids):
        scored = inputs.customer_ids
        x, t_x, age = inputs.x, inputs.t_x, inputs.T
        p_alive = clv.probability_alive(bgnbd, x, t_x, age)
        purchases = clv.expected_purchases(bgnbd, HORIZON_DAYS, x, t_x, age)
        year = clv.expected_purchases(bgnbd, VALUE_DAYS, x, t_x, age)
        if gamma_gamma is not None and gamma_gamma.ok:
            spend = clv.expected_spend(gamma_gamma, x, inputs.m, fallback=average_value)
        else:
            spend = np.where(inputs.m > 0, inputs.m, average_value)
        value = year * spend
    repeaters = inputs.x[: len(scored)] > 0
    params = {
        "scored": scored.tolist(),
        "p_alive": _column(np.where(repeaters, p_alive, np.nan), 4, 1.0),
        "purchases": _column(purchases, 3, 999_999.0),
        "value": _column(value, 2, 1e13),
    }
    return _execute(_SCORES, customer_ids, params)


def _breakpoints(rules: SegmentationRules) -> dict:
    cuts = {}
    with connection.cursor() as cursor:
        for key, column in (("r", "r"), ("f", "f"), ("m", "m")):
            cursor.execute(_BREAKPOINTS.format(column=column), {"edges": list(SCORE_EDGES)})
            cuts[key] = [None if v is None else str(v) for __, v in cursor.fetchall()]
        if rules.value_mode == ValueTierMode.SHARE:
            high = Decimal(100 - rules.value_high_share) / 100
            medium = Decimal(100 - rules.value_high_share - rules.value_medium_share) / 100
            cursor.execute(_BREAKPOINTS.format(column="m"), {"edges": [medium, high]})
            medium_cut, high_cut = (None if v is None else str(v) for __, v in cursor.fetchall())
            cuts["value"] = [medium_cut, high_cut]
    return cuts


def _classify(
    customer_ids: list[int] | None,
    rules: SegmentationRules,
    cuts: dict,
    typical_interval: Decimal | None,
) -> int:
    def present(key):
        """The cut-offs reached by somebody; None (no score) when there are none."""
        values = [Decimal(v) for v in cuts.get(key) or () if v is not None]
        return values or None

    if rules.value_mode == ValueTierMode.AMOUNT:
        value_known = True
        value_medium, value_high = rules.value_medium_amount, rules.value_high_amount
    else:
        value_known = "value" in cuts
        # An edge nobody reaches (NULL) leaves that tier empty.
        value_medium, value_high = (
            Decimal(v) if v is not None else None for v in cuts.get("value", (None, None))
        )
    params = {
        "r_cuts": present("r"),
        "f_cuts": present("f"),
        "m_cuts": present("m"),
        "value_known": value_known,
        "frequency_high": rules.frequency_high,
        "frequency_medium": rules.frequency_medium,
        "value_high": value_high,
        "value_medium": value_medium,
        "typical_interval": typical_interval or Decimal(rules.default_interval_days),
        "drop_share": Decimal(rules.contact_drop_share) / 100,
        "at_risk_factor": rules.at_risk_factor,
        "churned_factor": rules.churned_factor,
        "at_risk_p": rules.at_risk_p_alive,
        "churned_p": rules.churned_p_alive,
    }
    return _execute(_CLASSIFY, customer_ids, params)


def _stages(customer_ids: list[int] | None) -> int:
    return _execute(_STAGES, customer_ids, {"now": timezone.now()})


def latest_run() -> MetricsRun | None:
    """The run whose scales the saves use: the latest day computed."""
    done = MetricsRun.objects.filter(status=MetricsRun.Status.DONE)
    return done.order_by("-as_of", "-started_at").first()


def _models(run: MetricsRun | None) -> tuple[clv.BgNbd | None, clv.GammaGamma | None]:
    if run is None:
        return None, None
    bgnbd = clv.BgNbd(True, run.r, run.alpha, run.a, run.b) if run.bgnbd_ok else None
    gamma_gamma = clv.GammaGamma(True, run.p, run.q, run.gamma) if run.gamma_gamma_ok else None
    return bgnbd, gamma_gamma


def segments_refresh(customer_ids: Iterable[int], as_of: datetime.date | None = None) -> None:
    """Contact figures, scores, tiers and stage of these customers, after their
    purchase metrics and last contact are fresh (`metrics_refresh` and
    `last_contact_refresh` call this for the customers they were given)."""
    ids = sorted(set(customer_ids))
    if not ids:
        return
    as_of = as_of or timezone.localdate()
    run = latest_run()
    rules = SegmentationRules.current()
    _execute(_CONTACTS, ids, _window(as_of))
    bgnbd, gamma_gamma = _models(run)
    if bgnbd is not None:
        inputs = clv.metrics_inputs(as_of, ids)
        average = float(run.average_order_value or 0)
        _scores_write(ids, inputs, bgnbd, gamma_gamma, average)
    else:
        _scores_write(ids, clv.inputs_of([]), None, None, 0.0)
    cuts = run.breakpoints if run is not None else {}
    _classify(ids, rules, cuts, run.typical_interval_days if run is not None else None)
    _stages(ids)


def metrics_recompute(as_of: datetime.date | None = None) -> MetricsRun:
    """Everyone's metrics, contact figures, model fit and scores, tiers, RFM and
    stage at the end of `as_of` (today), in one transaction; returns the run with
    the fitted parameters. A failure is recorded on the run and raised."""
    as_of = as_of or timezone.localdate()
    run = MetricsRun.objects.create(as_of=as_of)
    began = time.monotonic()
    try:
        with transaction.atomic():
            model = _recompute(run, as_of)
    except Exception as error:
        run.status = MetricsRun.Status.FAILED
        run.error = f"{type(error).__name__}: {error}"[:2000]
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "error", "finished_at"])
        raise
    # The rollups and forecasts after the customers are free again: they read what
    # was committed, and a save need not wait for them.
    try:
        with transaction.atomic():
            _dashboards_rebuild(as_of, *model)
    except Exception as error:
        run.error = f"dashboards: {type(error).__name__}: {error}"[:2000]
        run.save(update_fields=["error"])
        raise
    log.info("metrics recomputed at %s in %.1f s: %s", as_of, time.monotonic() - began,
             run.parameters())  # fmt: skip
    return run


def _dashboards_rebuild(as_of, inputs, bgnbd, gamma_gamma, average: float) -> None:
    """The dashboards' rollups and the revenue forecasts (dashboards app)."""
    from dashboards.forecast import backtest_ensure, forecast_prune, forecast_write
    from dashboards.rollup import rollups_rebuild

    if as_of >= timezone.localdate():  # a past day leaves today's dashboards alone
        rollups_rebuild(as_of)
        forecast_write(as_of, inputs, bgnbd, gamma_gamma, average)
        forecast_prune(as_of)
    backtest_ensure(as_of, average)


def _recompute(run: MetricsRun, as_of: datetime.date) -> tuple:
    """The locked part; returns what the dashboards' step needs of the models."""
    from interactions.rollup import last_contact_refresh
    from sales.rollup import sales_days_rebuild

    with connection.cursor() as cursor:
        # Saves lock a customer, then its metrics row; the run takes both tables
        # first, in that order, so it never deadlocks with a save nor overwrites one
        # made while it reads. Reads go on; writes to customers wait for the run.
        cursor.execute("SET LOCAL lock_timeout = '60s'")
        cursor.execute("LOCK TABLE customers_customer, customers_customermetrics IN EXCLUSIVE MODE")
    rules = SegmentationRules.current()
    changed = metrics_refresh(as_of=as_of)
    last_contact_refresh()
    sales_days_rebuild()
    _execute(_CONTACTS, None, _window(as_of))
    with connection.cursor() as cursor:
        cursor.execute(_POPULATION)
        customers, buyers, typical, average = cursor.fetchone()
    run.customers, run.buyers = customers, buyers
    run.typical_interval_days = round(Decimal(typical), 1) if typical is not None else None
    run.average_order_value = round(average, 2) if average is not None else None

    inputs = clv.metrics_inputs(as_of)
    bgnbd = clv.bgnbd_fit(inputs.x, inputs.t_x, inputs.T)
    gamma_gamma = clv.gamma_gamma_fit(inputs.x, inputs.m)
    run.bgnbd_ok, run.bgnbd_note = bgnbd.ok, bgnbd.reason
    if bgnbd.ok:
        run.r, run.alpha, run.a, run.b = bgnbd.r, bgnbd.alpha, bgnbd.a, bgnbd.b
        run.log_likelihood = bgnbd.log_likelihood
    run.gamma_gamma_ok, run.gamma_gamma_note = gamma_gamma.ok, gamma_gamma.reason
    if gamma_gamma.ok:
        run.p, run.q, run.gamma = gamma_gamma.p, gamma_gamma.q, gamma_gamma.gamma
    changed += _scores_write(None, inputs, bgnbd, gamma_gamma, float(run.average_order_value or 0))
    run.breakpoints = _breakpoints(rules)
    changed += _classify(None, rules, run.breakpoints, run.typical_interval_days)
    # A day in the past recomputes the figures as they were (checks, backtests);
    # the stages shown today stay as they are.
    run.stage_changes = _stages(None) if as_of >= timezone.localdate() else 0
    run.changed = changed
    run.status = MetricsRun.Status.DONE
    run.finished_at = timezone.now()
    run.save()
    return inputs, bgnbd, gamma_gamma, float(run.average_order_value or 0)


@dataclass(frozen=True)
class Outlook:
    """What the customer page says about a customer's buying, in words."""

    reasons: list[str]
    churn_percent: int | None  # 100 × (1 − P(alive)); None: no model or no repeat
    next_purchase_on: datetime.date | None
    days_to_next: int | None  # negative: overdue

    @property
    def days_overdue(self) -> int:
        return -self.days_to_next if self.days_to_next is not None else 0


def _days(count: int) -> str:
    return ngettext("%(count)s day", "%(count)s days", count) % {"count": count}


def stage_reasons(
    metrics: CustomerMetrics, rules: SegmentationRules, typical_interval: Decimal | None
) -> list[str]:
    """The facts behind a customer's stage, as sentences: the rhythm of their
    purchases, the model's chance that they still buy, a drop in contact."""
    if not metrics.purchase_days or metrics.days_since_purchase is None:
        return []
    since = _days(metrics.days_since_purchase)
    if metrics.purchase_days >= 2 and metrics.purchase_interval_days is not None:
        usual = _days(max(1, round(metrics.purchase_interval_days)))
        reasons = [
            _("Usually buys every %(usual)s; last purchase %(since)s ago.")
            % {"usual": usual, "since": since}
        ]
    else:
        typical = _days(round(typical_interval or rules.default_interval_days))
        reasons = [
            _("Bought once, %(since)s ago; customers usually buy again within %(typical)s.")
            % {"since": since, "typical": typical}
        ]
    if metrics.p_alive is not None and metrics.p_alive < rules.at_risk_p_alive:
        reasons.append(
            _("The model gives a %(percent)s%% chance that the customer still buys.")
            % {"percent": round(metrics.p_alive * 100)}
        )
    usual_contacts = metrics.usual_interactions_90d
    if (
        usual_contacts is not None
        and usual_contacts >= 1
        and metrics.interactions_90d < usual_contacts * rules.contact_drop_share / 100
    ):
        usual = f"{usual_contacts:.1f}".removesuffix(".0")
        reasons.append(
            ngettext(
                "%(recent)s interaction in the last 90 days; usually %(usual)s.",
                "%(recent)s interactions in the last 90 days; usually %(usual)s.",
                metrics.interactions_90d,
            )
            % {"recent": metrics.interactions_90d, "usual": usual}
        )
    if metrics.lifecycle in (Stage.AT_RISK, Stage.CHURNED):
        if metrics.days_since_contact is None:
            reasons.append(_("Never contacted."))
        elif metrics.days_since_contact >= 30:
            reasons.append(
                _("No contact for %(days)s.") % {"days": _days(metrics.days_since_contact)}
            )
    return reasons


def customer_outlook(metrics: CustomerMetrics | None) -> Outlook | None:
    """The customer page's words on the customer's buying (two queries: the rules
    and the last run)."""
    if metrics is None or not metrics.purchase_days:
        return None
    run = latest_run()
    reasons = stage_reasons(
        metrics, SegmentationRules.current(), run.typical_interval_days if run else None
    )
    churn = None if metrics.p_alive is None else round((1 - metrics.p_alive) * 100)
    days_to_next = None
    if metrics.next_purchase_on is not None:
        days_to_next = (metrics.next_purchase_on - timezone.localdate()).days
    return Outlook(reasons, churn, metrics.next_purchase_on, days_to_next)
