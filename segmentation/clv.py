"""Buy-till-you-die models, fitted on the company's own purchase history.

BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way"):
while alive, a customer buys at a rate λ ~ Gamma(r, α); after each purchase
they drop out with probability p ~ Beta(a, b). From each customer's repeat
purchases x, the time of the last one t_x and the time since the first T (all
from the first purchase), it gives the probability the customer is still
active and the expected number of purchases in the next t.

Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV"): the spend per purchase
varies around a customer's mean, itself Gamma-distributed across customers
(p, q, γ); from a customer's average repeat spend m_x over x purchases it gives
the expected spend per future purchase.

Both are fitted by maximum likelihood (scipy) on log-parameters; identical
(x, t_x, T) rows are counted once with a weight, and above 100,000 customers
the fit reads a fixed random sample, so a million customers fit in seconds;
every customer is then scored. With too little history the fit answers
"not enough data" (`ok=False` and the reason) rather than parameters that mean
nothing. Time is in whatever unit the inputs are in: days here, weeks in the
paper's CDNOW example.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import connection
from django.utils.translation import gettext_noop  # the reasons are translated where shown
from scipy.optimize import minimize
from scipy.special import gammaln, hyp2f1

MIN_CUSTOMERS = 30  # fewer customers than this: not enough data to fit
FIT_SAMPLE = 100_000  # more customers than this: the fit reads a fixed random sample
MIN_REPEATERS = 10  # … or fewer who bought twice
PARAMETER_BOUNDS = (1e-4, 1e4)  # outside these the fit is degenerate

# Why a model was not fitted (translated where shown).
FEW_CUSTOMERS = gettext_noop("not enough data (too few customers)")
FEW_REPEATERS = gettext_noop("not enough data (too few repeat buyers)")
NO_TIME = gettext_noop("not enough data (no time has passed)")
UNSETTLED = gettext_noop("not enough data (the fit did not settle)")
SAME_SPEND = gettext_noop("not enough data (every spend is the same)")


@dataclass(frozen=True)
class BgNbd:
    ok: bool
    r: float = 0.0
    alpha: float = 0.0
    a: float = 0.0
    b: float = 0.0
    customers: int = 0
    log_likelihood: float = 0.0
    reason: str = ""

    def summary(self) -> str:
        if not self.ok:
            return f"BG/NBD: {self.reason}"
        return f"r={self.r:.4f} alpha={self.alpha:.4f} a={self.a:.4f} b={self.b:.4f}"


@dataclass(frozen=True)
class GammaGamma:
    ok: bool
    p: float = 0.0
    q: float = 0.0
    gamma: float = 0.0
    customers: int = 0
    reason: str = ""

    def summary(self) -> str:
        if not self.ok:
            return f"Gamma-Gamma: {self.reason}"
        return f"p={self.p:.4f} q={self.q:.4f} gamma={self.gamma:.4f}"


def _arrays(*columns):
    return [np.asarray(column, dtype=float) for column in columns]


def _sample(*columns):
    """At most FIT_SAMPLE rows, the same ones every time for the same data (the
    parameters describe the population; a sample of 100,000 pins them down)."""
    size = len(columns[0])
    if size <= FIT_SAMPLE:
        return columns
    chosen = np.random.default_rng(20051).choice(size, FIT_SAMPLE, replace=False)
    return [column[chosen] for column in columns]


def _compress(*columns):
    """The distinct rows of the columns and how often each occurs."""
    stacked = np.column_stack(columns)
    unique, counts = np.unique(stacked, axis=0, return_counts=True)
    return [unique[:, i] for i in range(unique.shape[1])], counts.astype(float)


def bgnbd_log_likelihood(params, x, t_x, T):
    """Each customer's log-likelihood under BG/NBD (the paper's equation 6)."""
    r, alpha, a, b = params
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(
            x > 0,
            np.log(a) - np.log(np.maximum(b + x - 1, 1e-12)) - (r + x) * np.log(alpha + t_x),
            -np.inf,
        )
    return a1 + a2 + np.logaddexp(a3, a4)


def _fit(objective, start) -> tuple[np.ndarray, bool]:
    """Quasi-Newton (L-BFGS-B, numerical gradient) on the log-parameters, a few
    dozen evaluations; the simplex method from there when it did not settle."""
    # The search stays a little beyond the sensible range (in log space): unbounded,
    # a degenerate sample walked off to exp(8e7) and overflowed (a warning, and a
    # result thrown away anyway).
    low, high = PARAMETER_BOUNDS
    bounds = [(np.log(low) - 2, np.log(high) + 2)] * len(start)
    result = minimize(objective, np.log(start), method="L-BFGS-B", bounds=bounds,
                      options={"ftol": 1e-12, "gtol": 1e-8, "maxiter": 2_000})  # fmt: skip
    if not result.success:
        result = minimize(objective, result.x, method="Nelder-Mead", bounds=bounds,
                          options={"xatol": 1e-7, "fatol": 1e-7, "maxiter": 20_000,
                                   "maxfev": 40_000})  # fmt: skip
    params = np.exp(result.x)
    sensible = bool(result.success) and bool(np.all((params > low) & (params < high)))
    return params, sensible


def bgnbd_fit(x, t_x, T) -> BgNbd:
    """Fit BG/NBD to repeat purchases `x`, the time of the last `t_x` and the
    age `T` of each customer (all measured from their first purchase)."""
    x, t_x, T = _arrays(x, t_x, T)
    customers = len(x)
    if customers < MIN_CUSTOMERS:
        return BgNbd(False, customers=customers, reason=FEW_CUSTOMERS)
    if int((x > 0).sum()) < MIN_REPEATERS:
        return BgNbd(False, customers=customers, reason=FEW_REPEATERS)
    if np.any(x < 0) or np.any(t_x < 0) or np.any(t_x > T + 1e-9):
        raise ValueError("need 0 <= x, 0 <= t_x <= T")
    if float(T.max()) <= 0:
        return BgNbd(False, customers=customers, reason=NO_TIME)
    x, t_x, T = _sample(x, t_x, T)
    (ux, ut, uT), weights = _compress(x, t_x, T)
    # Fitted in units of the mean age (α scales with time; r, a and b do not),
    # so the bounds mean the same whether time is in days or weeks.
    scale = float(np.mean(uT * weights) / np.mean(weights))

    def objective(log_params):
        return -np.sum(
            weights * bgnbd_log_likelihood(np.exp(log_params), ux, ut / scale, uT / scale)
        ) / len(x)

    params, sensible = _fit(objective, [1.0, 1.0, 1.0, 1.0])
    if not sensible:
        return BgNbd(False, customers=customers, reason=UNSETTLED)
    params[1] *= scale
    r, alpha, a, b = (float(v) for v in params)
    ll = float(np.sum(weights * bgnbd_log_likelihood(params, ux, ut, uT)))
    return BgNbd(True, r, alpha, a, b, customers=customers, log_likelihood=ll)


def _fitted(model) -> None:
    if not model.ok:
        raise ValueError(f"the model was not fitted: {model.reason}")


def probability_alive(model: BgNbd, x, t_x, T) -> np.ndarray:
    """P(still active | x, t_x, T): 1 for a customer who never bought again."""
    _fitted(model)
    x, t_x, T = _arrays(x, t_x, T)
    with np.errstate(divide="ignore", invalid="ignore"):
        odds = np.where(
            x > 0,
            model.a
            / np.maximum(model.b + x - 1, 1e-12)
            * np.exp((model.r + x) * (np.log(model.alpha + T) - np.log(model.alpha + t_x))),
            0.0,
        )
    return 1.0 / (1.0 + odds)


def expected_purchases(model: BgNbd, t: float, x, t_x, T) -> np.ndarray:
    """E[purchases in the next `t` | x, t_x, T] (the paper's equation 10)."""
    _fitted(model)
    x, t_x, T = _arrays(x, t_x, T)
    r, alpha, a, b = model.r, model.alpha, model.a, model.b
    z = t / (alpha + T + t)
    hyper = hyp2f1(r + x, b + x, a + b + x - 1, z)
    head = (a + b + x - 1) / (a - 1)
    body = 1 - np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t))) * hyper
    return head * body * probability_alive(model, x, t_x, T)


def gamma_gamma_log_likelihood(params, x, m):
    p, q, gamma = params
    return (
        gammaln(p * x + q) - gammaln(p * x) - gammaln(q) + q * np.log(gamma)
        + (p * x - 1) * np.log(m) + p * x * np.log(x) - (p * x + q) * np.log(gamma + m * x)
    )  # fmt: skip


def gamma_gamma_fit(x, m) -> GammaGamma:
    """Fit Gamma-Gamma to the customers with repeat purchases: `x` of them at
    an average of `m` each (rows with x = 0 or m <= 0 are left out)."""
    x, m = _arrays(x, m)
    keep = (x > 0) & (m > 0)
    x, m = x[keep], m[keep]
    customers = len(x)
    x, m = _sample(x, m)
    if customers < MIN_REPEATERS:
        return GammaGamma(False, customers=customers, reason=FEW_REPEATERS)
    if np.allclose(m, m[0]) and np.all(x == x[0]):
        return GammaGamma(False, customers=customers, reason=SAME_SPEND)

    scale = float(np.mean(m))  # fitted in units of the mean spend (γ scales with money)

    def objective(log_params):
        return -np.mean(gamma_gamma_log_likelihood(np.exp(log_params), x, m / scale))

    params, sensible = _fit(objective, [1.0, 1.0, 1.0])
    params[2] *= scale
    if not sensible or params[1] <= 1:
        return GammaGamma(False, customers=customers, reason=UNSETTLED)
    p, q, gamma = (float(v) for v in params)
    return GammaGamma(True, p, q, gamma, customers=customers)


def expected_spend(model: GammaGamma, x, m, *, fallback: float) -> np.ndarray:
    """E[spend per purchase | x, m]: the customer's own average shrunk towards
    the population's; `fallback` (say, the company's average order) for those
    with no repeat purchase yet."""
    _fitted(model)
    x, m = _arrays(x, m)
    p, q, gamma = model.p, model.q, model.gamma
    population = p * gamma / (q - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        own = p * (gamma + m * x) / (p * x + q - 1)
    return np.where((x > 0) & (m > 0), own, fallback if fallback else population)


# The models' inputs per buying customer at an as-of date, in days: repeat
# purchases counted as distinct local days with a purchase after the first (two
# orders on one day are one purchase), the day of the last one and the age
# since the first, both from the first; and the average net value (CNY, less
# refunds) of the repeat purchase days. Orders after the as-of day are not seen.
_INPUTS_SQL = """
WITH days AS (
    SELECT o.customer_id, (o.ordered_at AT TIME ZONE %(zone)s)::date AS day,
           SUM((o.total - o.refunded) * o.exchange_rate) AS net
    FROM sales_order o
    JOIN customers_customer c ON c.id = o.customer_id AND c.deleted_at IS NULL
    WHERE o.status IN ('paid', 'shipped', 'completed')
      AND o.total > o.refunded
      AND (o.ordered_at AT TIME ZONE %(zone)s)::date <= %(as_of)s
    GROUP BY 1, 2
), ranked AS (
    SELECT customer_id, day, net,
           MIN(day) OVER (PARTITION BY customer_id) AS first_day
    FROM days
)
SELECT customer_id,
       COUNT(*) - 1 AS x,
       MAX(day) - MIN(first_day) AS t_x,
       %(as_of)s::date - MIN(first_day) AS age,
       COALESCE(AVG(net) FILTER (WHERE day > first_day), 0) AS repeat_value
FROM ranked
GROUP BY customer_id
ORDER BY customer_id
"""


@dataclass(frozen=True)
class Inputs:
    customer_ids: np.ndarray
    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    m: np.ndarray


def model_inputs(as_of) -> Inputs:
    """Every live buying customer's (x, t_x, T, m) at `as_of`, from the orders in
    one query (the backtest's: a past day, whatever the metrics rows hold)."""
    with connection.cursor() as cursor:
        cursor.execute(_INPUTS_SQL, {"zone": settings.TIME_ZONE, "as_of": as_of})
        rows = cursor.fetchall()
    return inputs_of(rows)


def inputs_of(rows) -> Inputs:
    """Inputs from (customer, x, t_x, T, m) rows; none from no rows."""
    if not rows:
        empty = np.zeros(0)
        return Inputs(np.zeros(0, dtype=np.int64), empty, empty, empty, empty)
    ids, x, t_x, age, value = zip(*rows, strict=True)
    return Inputs(
        np.asarray(ids, dtype=np.int64),
        np.asarray(x, dtype=float),
        np.asarray(t_x, dtype=float),
        np.asarray(age, dtype=float),
        np.asarray([float(v) for v in value]),
    )
