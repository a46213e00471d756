"""Every customer classified at an as-of day (docs/segmentation.md):
purchase and contact figures, the BG/NBD and Gamma-Gamma scores, frequency and
value tiers, RFM scores and segments, the lifecycle stage by the customer's own
rhythm, the next expected purchase and a key-account suggestion, all on the
customer's metrics row.

`metrics_recompute(as_of)` does it for everyone, set-based: the figures into a
temporary table in one pass over the orders and one over the interactions, the
models fitted and everyone scored from there (the scores copied back with
COPY), then one upsert that rewrites only the rows that changed; it keeps a
`MetricsRun` with the fitted parameters, the cut-offs of the scores, the rules
it applied and how long each step took. `segments_refresh(ids)` does the same
for a few customers after a save, in the caller's transaction, on the last
run's parameters and cut-offs, so a customer refreshed between two nights is
scored on the same scale as everyone else.

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
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import numpy as np
from django.db import connection
from django.utils import timezone

from crm.bulkcopy import temp_table_copy_arrays
from segmentation import clv
from segmentation.figures import FIGURES, fresh_params, fresh_sql
from segmentation.models import MetricsRun, SegmentationRules, ValueTierMode

log = logging.getLogger(__name__)

SCORE_EDGES = (Decimal("0.2"), Decimal("0.4"), Decimal("0.6"), Decimal("0.8"))
HORIZON_DAYS = 90  # expected purchases over the next 90 days
VALUE_DAYS = 365  # expected value over the next 12 months
STAGE_BATCH = 20_000  # customers per transaction when the nightly run moves stages
APPLY_IN_ONE_STATEMENT = 10_000  # more customers refreshed at once: through a temporary table
WORK_MEM = "256MB"  # the full run's sorts and hashes stay in memory

SCORES = ("p_alive", "expected_purchases_90d", "expected_value_12m")
CLASSES = (
    "recency_score", "frequency_score", "monetary_score", "rfm_segment", "frequency_tier",
    "value_tier", "lifecycle", "next_purchase_on", "key_account_suggested",
)  # fmt: skip
COLUMNS = FIGURES + SCORES + CLASSES

# The scores of everyone, from the temporary table Scores.copy_into fills.
SCORES_COPIED = """
SELECT customer_id, nullif(p_alive, 'NaN')::numeric(5, 4) AS p_alive,
       nullif(expected_purchases_90d, 'NaN')::numeric(9, 3) AS expected_purchases_90d,
       nullif(expected_value_12m, 'NaN')::numeric(16, 2) AS expected_value_12m
FROM kehu_scores
"""

# The scores of a few customers, as parameters.
_SCORES_GIVEN = """
SELECT * FROM unnest(%(scored)s::bigint[], %(p_alive)s::numeric[], %(purchases)s::numeric[],
                     %(value)s::numeric[])
    AS s(customer_id, p_alive, expected_purchases_90d, expected_value_12m)
"""

# The figures and scores of each customer, classified (a WITH clause ending in
# `classified`). Scores: 1 + how many of the run's cut-offs the value reaches
# (NULL with no run yet); the named segments over R (rows) × F (columns),
# docs/segmentation.md.
_CLASSIFY = """
WITH fresh AS ({fresh}),
scores AS ({scores}),
source AS (
    SELECT f.*, s.p_alive, s.expected_purchases_90d, s.expected_value_12m
    FROM fresh f LEFT JOIN scores s ON s.customer_id = f.customer_id
),
scored AS (
    SELECT x.*,
           CASE WHEN x.purchase_days > 0 THEN 1 + width_bucket(
               (x.as_of - x.days_since_purchase - DATE '2000-01-01')::numeric,
               %(r_cuts)s::numeric[]) END AS recency_score,
           CASE WHEN x.purchase_days > 0 THEN 1 + width_bucket(
               x.purchase_days::numeric, %(f_cuts)s::numeric[]) END AS frequency_score,
           CASE WHEN x.purchase_days > 0 THEN 1 + width_bucket(
               x.total_spent, %(m_cuts)s::numeric[]) END AS monetary_score,
           CASE WHEN x.purchase_days_12m >= %(frequency_high)s THEN 'high'
                WHEN x.purchase_days_12m >= %(frequency_medium)s THEN 'medium'
                WHEN x.purchase_days_12m >= 1 THEN 'low' ELSE 'none' END AS frequency_tier,
           CASE WHEN x.purchase_days = 0 OR NOT %(value_known)s THEN ''
                WHEN x.total_spent >= %(value_high)s THEN 'high'
                WHEN x.total_spent >= %(value_medium)s THEN 'medium' ELSE 'low' END AS value_tier,
           x.days_since_purchase / coalesce(
               CASE WHEN x.purchase_days >= 2 THEN x.purchase_interval_days END,
               %(typical_interval)s)::numeric AS overdue,
           x.usual_interactions_90d >= 1
               AND x.interactions_90d < x.usual_interactions_90d * %(drop_share)s AS dropped,
           CASE WHEN x.purchase_days >= 2 THEN x.as_of - x.days_since_purchase
               + round(x.purchase_interval_days)::int END AS next_purchase_on
    FROM source x
),
staged AS (
    SELECT x.*,
           CASE WHEN x.recency_score IS NULL THEN ''
                WHEN x.recency_score = 1 AND x.frequency_score = 1 THEN 'lost'
                WHEN x.recency_score <= 2 AND x.frequency_score <= 2 THEN 'hibernating'
                WHEN x.recency_score <= 2 AND x.frequency_score <= 4 THEN 'at_risk'
                WHEN x.recency_score <= 2 THEN 'cant_lose'
                WHEN x.recency_score = 3 AND x.frequency_score <= 2 THEN 'sleepy'
                WHEN x.recency_score = 3 AND x.frequency_score = 3 THEN 'attention'
                WHEN x.recency_score = 4 AND x.frequency_score = 1 THEN 'promising'
                WHEN x.recency_score = 5 AND x.frequency_score = 1 THEN 'new'
                WHEN x.frequency_score <= 3 THEN 'potential'
                WHEN x.recency_score = 5 THEN 'champions'
                ELSE 'loyal' END AS rfm_segment,
           CASE WHEN x.purchase_days = 0 THEN 'lead'
                WHEN x.overdue > %(churned_factor)s
                     AND (x.p_alive IS NULL OR x.p_alive < %(churned_p)s) THEN 'churned'
                WHEN x.overdue > %(at_risk_factor)s OR x.p_alive < %(at_risk_p)s
                     OR (x.dropped AND x.overdue > 1) THEN 'at_risk'
                ELSE 'active' END AS lifecycle
    FROM scored x
),
classified AS (
    SELECT s.*, s.value_tier = 'high' AND s.frequency_tier IN ('high', 'medium')
               AND s.lifecycle IN ('active', 'at_risk') AND NOT s.is_key_account
               AS key_account_suggested
    FROM staged s
)
"""

# The classified rows ({rows}) written: a row only when something in it changed.
# An UPDATE joined by hash, not INSERT … ON CONFLICT, which probes the key index
# once per row; the run and the saves hold the customers locked, so no row
# appears between the two.
_UPDATE = (
    """
    UPDATE customers_customermetrics m SET {updates}, refreshed_at = now()
    FROM {rows} x
    WHERE m.customer_id = x.customer_id AND ({mine}) IS DISTINCT FROM ({theirs})"""
    .replace("{updates}", ", ".join(f"{c} = x.{c}" for c in COLUMNS))
    .replace("{mine}", ", ".join(f"m.{c}" for c in COLUMNS))
    .replace("{theirs}", ", ".join(f"x.{c}" for c in COLUMNS))
)  # fmt: skip
_INSERT = """
    INSERT INTO customers_customermetrics (customer_id, {columns}, refreshed_at)
    SELECT customer_id, {columns}, now() FROM {rows} x
    WHERE {new}""".replace("{columns}", ", ".join(COLUMNS))
_NEW = """NOT EXISTS (SELECT FROM customers_customermetrics m
                      WHERE m.customer_id = x.customer_id)"""
# For a few rows, in one statement.
_WRITE = """
updated AS ({update} RETURNING 1),
inserted AS ({insert} RETURNING 1)
SELECT (SELECT count(*) FROM updated) + (SELECT count(*) FROM inserted)
""".replace("{update}", _UPDATE).replace("{insert}", _INSERT.replace("{new}", _NEW))

# The repeat-purchase model's inputs (x, t_x, T, m) of the live buying customers,
# from their figures at the as-of day.
_INPUTS = """
SELECT f.customer_id, f.purchase_days - 1,
       (f.as_of - f.days_since_purchase) - f.first_purchase_on,
       f.as_of - f.first_purchase_on, coalesce(f.repeat_spend, 0)::float8
FROM ({source}) f
WHERE f.live AND f.purchase_days > 0 AND f.as_of = %(as_of)s
ORDER BY f.customer_id
"""

# What the scores rank the live buying customers by: the last purchase day (as
# days since 2000-01-01), the purchase days and the total spent.
_RANKED = """
SELECT f.as_of - f.days_since_purchase - DATE '2000-01-01', f.purchase_days,
       f.total_spent::float8
FROM kehu_fresh f
WHERE f.live AND f.purchase_days > 0
"""

POPULATION = """
SELECT count(*) FILTER (WHERE live),
       count(*) FILTER (WHERE live AND purchase_days > 0),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY purchase_interval_days)
           FILTER (WHERE live AND purchase_days >= 2),
       sum(total_spent) FILTER (WHERE live AND purchase_days > 0)
           / nullif(sum(purchase_days) FILTER (WHERE live), 0)
FROM kehu_fresh
"""

# The customer's stage follows the computed lifecycle; each move is kept in the
# stage history with no actor (the system moved it). The customers are locked in
# id order, as every writer locks them.
_STAGES = """
WITH moved AS (
    SELECT c.id, c.stage AS old, coalesce(m.lifecycle, 'lead') AS new
    FROM customers_customer c
    LEFT JOIN customers_customermetrics m ON m.customer_id = c.id
    WHERE c.deleted_at IS NULL AND c.stage <> coalesce(m.lifecycle, 'lead') AND {customers}
    ORDER BY c.id
    FOR UPDATE OF c
),
updated AS (
    UPDATE customers_customer c SET stage = moved.new, stage_changed_at = %(now)s
    FROM moved WHERE c.id = moved.id
)
INSERT INTO customers_stagechange (customer_id, from_stage, to_stage, changed_at, actor_id)
SELECT id, old, new, %(now)s, NULL FROM moved
"""


BEHIND = """
SELECT c.id FROM customers_customer c
LEFT JOIN customers_customermetrics m ON m.customer_id = c.id
WHERE c.deleted_at IS NULL AND c.stage <> coalesce(m.lifecycle, 'lead')
ORDER BY c.id
"""


def _column(values: np.ndarray, digits: int, upper: float) -> np.ndarray:
    """Rounded for the column; NaN where the model gives nothing usable (NaN or
    infinity at extreme parameters, or a figure beyond the column)."""
    usable = np.isfinite(values) & (values >= 0) & (values <= upper)
    return np.where(usable, np.round(np.where(usable, values, 0.0), digits), np.nan)


def _listed(values: np.ndarray) -> list[float | None]:
    return [None if value != value else value for value in values.tolist()]  # NaN: None


@dataclass(frozen=True)
class Scores:
    """P(alive), expected purchases in 90 days and expected value in 12 months per
    scored customer (NaN: nothing usable)."""

    customer_ids: np.ndarray
    p_alive: np.ndarray
    purchases: np.ndarray
    value: np.ndarray

    @classmethod
    def none(cls) -> Scores:
        empty = np.array([], dtype=float)
        return cls(np.array([], dtype=np.int64), empty, empty, empty)

    def params(self) -> dict:
        """The parameters of _SCORES_GIVEN."""
        return {
            "scored": self.customer_ids.tolist(),
            "p_alive": _listed(self.p_alive),
            "purchases": _listed(self.purchases),
            "value": _listed(self.value),
        }

    def copy_into(self, table: str) -> None:
        """Into a temporary table that SCORES_COPIED reads."""
        temp_table_copy_arrays(
            table,
            {
                "customer_id": self.customer_ids, "p_alive": self.p_alive,
                "expected_purchases_90d": self.purchases, "expected_value_12m": self.value,
            },
        )  # fmt: skip


def scores_compute(
    inputs: clv.Inputs,
    bgnbd: clv.BgNbd | None,
    gamma_gamma: clv.GammaGamma | None,
    average_value: float,
) -> Scores:
    """The scores of the buying customers; none whenever BG/NBD did not fit. A
    customer who never came back has no P(alive): the model holds them alive by
    construction (Fader et al. 2005 §5), the interval rule judges them."""
    if bgnbd is None or not bgnbd.ok or not len(inputs.customer_ids):
        return Scores.none()
    x, t_x, age = inputs.x, inputs.t_x, inputs.T
    p_alive = clv.probability_alive(bgnbd, x, t_x, age)
    purchases = clv.expected_purchases(bgnbd, HORIZON_DAYS, x, t_x, age)
    year = clv.expected_purchases(bgnbd, VALUE_DAYS, x, t_x, age)
    if gamma_gamma is not None and gamma_gamma.ok:
        spend = clv.expected_spend(gamma_gamma, x, inputs.m, fallback=average_value)
    else:
        spend = np.where(inputs.m > 0, inputs.m, average_value)
    return Scores(
        inputs.customer_ids.astype(np.int64),
        _column(np.where(x > 0, p_alive, np.nan), 4, 1.0),
        _column(purchases, 3, 999_999.0),
        _column(year * spend, 2, 1e13),
    )


def inputs_read(source: str, params: dict) -> clv.Inputs:
    with connection.cursor() as cursor:
        cursor.execute(_INPUTS.format(source=source), params)
        return clv.inputs_of(cursor.fetchall())


def figures_inputs(as_of: datetime.date, customer_ids: list[int] | None = None) -> clv.Inputs:
    """The model's inputs from the purchase figures at `as_of` (of these
    customers), as the recompute and the saves read them."""
    return inputs_read(fresh_sql(customer_ids), fresh_params(as_of, customer_ids))


def _cuts(values: np.ndarray, edges, digits: int) -> list[str | None]:
    """The lowest value whose position p (the share below it plus half the share
    equal to it) reaches each edge; None where none does. Exact: p >= e is
    compared as integers, (2·below + equal)·den >= 2·n·num for e = num/den."""
    distinct, counts = np.unique(values, return_counts=True)
    twice = 2 * (np.cumsum(counts) - counts) + counts
    cuts = []
    for edge in edges:
        share = Fraction(Decimal(edge))
        reached = np.nonzero(twice * share.denominator >= 2 * len(values) * share.numerator)[0]
        cuts.append(f"{distinct[reached[0]]:.{digits}f}" if len(reached) else None)
    return cuts


def breakpoints(rules: SegmentationRules) -> dict:
    """The cut-offs of the R, F and M scores and of the value tiers by share."""
    with connection.cursor() as cursor:
        cursor.execute(_RANKED)
        r, f, m = np.asarray(cursor.fetchall(), dtype=float).reshape(-1, 3).T
    cuts = {"r": _cuts(r, SCORE_EDGES, 0), "f": _cuts(f, SCORE_EDGES, 0),
            "m": _cuts(m, SCORE_EDGES, 2)}  # fmt: skip
    if rules.value_mode == ValueTierMode.SHARE:
        high = Decimal(100 - rules.value_high_share) / 100
        medium = Decimal(100 - rules.value_high_share - rules.value_medium_share) / 100
        cuts["value"] = _cuts(m, [medium, high], 2)
    return cuts


def classes(rules: SegmentationRules, cuts: dict, typical_interval: Decimal | None) -> dict:
    """The parameters of _CLASSIFY's classification."""

    def present(key):
        """The cut-offs reached by somebody (NULL, no score, when none is)."""
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
    return {
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


def rows_apply(fresh: str, scores: str, params: dict, *, many: bool) -> int:
    """Classify and write; how many rows changed. For a few customers in one
    statement; for many (everyone, a big import) through a temporary table
    (PostgreSQL fills it in seconds, where the one statement spent minutes
    writing a million rows out of its CTE)."""
    classify = _CLASSIFY.format(fresh=fresh, scores=scores)
    with connection.cursor() as cursor:
        if not many:
            cursor.execute(f"{classify},\n{_WRITE.format(rows='classified')}", params)
            return cursor.fetchone()[0]
        cursor.execute("DROP TABLE IF EXISTS kehu_classified")
        cursor.execute(
            f"CREATE TEMP TABLE kehu_classified ON COMMIT DROP AS {classify}\n"
            "SELECT * FROM classified",
            params,
        )
        cursor.execute("ANALYZE kehu_classified")
        # For many, one statement at a time: in one, the UPDATE could scan the
        # metrics table once per row while the INSERT fills it (the first run,
        # when the planner thinks it empty: hours at a million customers).
        cursor.execute(_UPDATE.replace("{rows}", "kehu_classified"))
        changed = cursor.rowcount
        cursor.execute("DROP TABLE IF EXISTS kehu_new")
        cursor.execute(
            "CREATE TEMP TABLE kehu_new ON COMMIT DROP AS "
            "SELECT x.customer_id FROM kehu_classified x WHERE {new}".replace("{new}", _NEW)
        )
        cursor.execute(
            _INSERT.replace("{rows}", "kehu_classified").replace(
                "{new}", "x.customer_id IN (SELECT customer_id FROM kehu_new)"
            )
        )
        return changed + cursor.rowcount


def stages_move(customers: str, params: dict) -> int:
    with connection.cursor() as cursor:
        cursor.execute(_STAGES.format(customers=customers), {**params, "now": timezone.now()})
        return cursor.rowcount


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


def segments_refresh(customer_ids: Iterable[int], as_of: datetime.date | None = None) -> int:
    """Figures, scores, tiers and stage of these customers at `as_of` (today), on
    the last run's scales, in the caller's transaction (`metrics_refresh` calls
    this once it has locked them); how many metrics rows changed."""
    ids = sorted(set(customer_ids))
    if not ids:
        return 0
    as_of = as_of or timezone.localdate()
    run = latest_run()
    params = fresh_params(as_of, ids)
    fresh = fresh_sql(ids)
    bgnbd, gamma_gamma = _models(run)
    scores = Scores.none()
    if bgnbd is not None:
        average = float(run.average_order_value or 0)
        scores = scores_compute(figures_inputs(as_of, ids), bgnbd, gamma_gamma, average)
    cuts = run.breakpoints if run is not None else {}
    typical = run.typical_interval_days if run is not None else None
    params.update(scores.params(), **classes(SegmentationRules.current(), cuts, typical))
    changed = rows_apply(fresh, _SCORES_GIVEN, params, many=len(ids) > APPLY_IN_ONE_STATEMENT)
    stages_move("c.id = ANY(%(ids)s::bigint[])", {"ids": ids})
    return changed
