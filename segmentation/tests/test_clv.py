"""BG/NBD and Gamma-Gamma against the published CDNOW estimates (Fader, Hardie
& Lee 2005): the fitted parameters within 1 %, the paper's worked example of a
customer's expected purchases, and "not enough data" instead of nonsense."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from segmentation.clv import (
    bgnbd_fit,
    expected_purchases,
    expected_spend,
    gamma_gamma_fit,
    probability_alive,
)

CDNOW = Path(__file__).parent / "data" / "cdnow" / "cdnow_customers_summary.csv"


@pytest.fixture(scope="module")
def cdnow():
    with CDNOW.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {
        name: np.array([float(row[name]) for row in rows]) for name in ("x", "t_x", "T", "zbar")
    }


@pytest.fixture(scope="module")
def bgnbd(cdnow):
    return bgnbd_fit(cdnow["x"], cdnow["t_x"], cdnow["T"])


def test_bgnbd_finds_the_papers_cdnow_parameters(bgnbd):
    # "Counting your customers the easy way", section 5: r = 0.243, α = 4.414,
    # a = 0.793, b = 2.426 (time in weeks); log-likelihood −9582.4.
    assert bgnbd.ok and bgnbd.customers == 2357
    for fitted, published in ((bgnbd.r, 0.243), (bgnbd.alpha, 4.414), (bgnbd.a, 0.793),
                              (bgnbd.b, 2.426)):  # fmt: skip
        assert fitted == pytest.approx(published, rel=0.01)
    assert bgnbd.log_likelihood == pytest.approx(-9582.4, abs=0.5)
    assert bgnbd.summary().startswith("r=0.24")


def test_a_customers_expected_purchases_match_the_papers_example(bgnbd):
    # The paper's example: 2 repeat purchases, the last at week 30.43, observed
    # for 38.86 weeks: 1.226 purchases expected in the next 39 weeks.
    (expected,) = expected_purchases(bgnbd, 39, [2], [30.43], [38.86])
    assert expected == pytest.approx(1.226, abs=0.005)
    alive = probability_alive(bgnbd, [0, 2, 2], [0, 30.43, 5.0], [38.86, 38.86, 38.86])
    assert alive[0] == 1.0  # never bought again: the model cannot have seen them leave
    assert 0 < alive[2] < alive[1] < 1  # a long silence since the last purchase lowers it


def test_gamma_gamma_finds_the_papers_cdnow_parameters(cdnow):
    # "RFM and CLV" (2005): p = 6.25, q = 3.74, γ = 15.44 on the repeat buyers.
    model = gamma_gamma_fit(cdnow["x"], cdnow["zbar"])
    assert model.ok and model.customers == 946
    for fitted, published in ((model.p, 6.25), (model.q, 3.74), (model.gamma, 15.44)):
        assert fitted == pytest.approx(published, rel=0.01)
    spend = expected_spend(model, [0, 1, 10], [0, 100.0, 100.0], fallback=30.0)
    assert spend[0] == 30.0  # no repeat purchase: the fallback
    assert spend[1] < spend[2] < 100.0  # one purchase shrinks more towards the mean than ten


def test_too_little_history_says_so_instead_of_fitting():
    assert bgnbd_fit([], [], []).reason == "not enough data (too few customers)"
    nobody_came_back = bgnbd_fit([0] * 100, [0] * 100, [50] * 100)
    assert not nobody_came_back.ok and "repeat buyers" in nobody_came_back.reason
    everyone_today = bgnbd_fit([1] * 50, [0] * 50, [0] * 50)
    assert not everyone_today.ok and "no time has passed" in everyone_today.reason
    same_spend = gamma_gamma_fit([2] * 20, [50.0] * 20)
    assert not same_spend.ok and "every spend is the same" in same_spend.reason
    with pytest.raises(ValueError):
        bgnbd_fit([1] * 40, [10] * 40, [5] * 40)  # a last purchase after "now"
    with pytest.raises(ValueError):  # no scores from a model that was not fitted
        probability_alive(nobody_came_back, [1], [2], [3])


def _simulate(rng, n, r, alpha, a, b):
    """Customers drawn from BG/NBD itself, observed for 30 to 1,000 days."""
    rates, drop = rng.gamma(r, 1 / alpha, n), rng.beta(a, b, n)
    T = rng.integers(30, 1000, n).astype(float)
    x, t_x = np.zeros(n), np.zeros(n)
    for i in range(n):
        moment = 0.0
        while True:
            moment += rng.exponential(1 / rates[i])
            if moment > T[i]:
                break
            x[i], t_x[i] = x[i] + 1, moment
            if rng.random() < drop[i]:
                break
    return x, np.floor(t_x), T  # whole days, as the recompute gives them


def test_the_fit_recovers_the_parameters_of_customers_drawn_from_the_model():
    rng = np.random.default_rng(2005)
    x, t_x, T = _simulate(rng, 20_000, r=0.5, alpha=30.0, a=0.8, b=3.0)
    model = bgnbd_fit(x, t_x, T)
    assert model.ok
    for fitted, true in ((model.r, 0.5), (model.alpha, 30.0), (model.a, 0.8), (model.b, 3.0)):
        assert fitted == pytest.approx(true, rel=0.15)


def test_the_fits_do_not_depend_on_the_units(cdnow, bgnbd):
    in_days = bgnbd_fit(cdnow["x"], cdnow["t_x"] * 7, cdnow["T"] * 7)
    assert in_days.alpha == pytest.approx(bgnbd.alpha * 7, rel=0.005)  # α is a time
    assert (in_days.r, in_days.a, in_days.b) == pytest.approx(
        (bgnbd.r, bgnbd.a, bgnbd.b), rel=0.005
    )
    in_usd = gamma_gamma_fit(cdnow["x"], cdnow["zbar"])
    in_cents = gamma_gamma_fit(cdnow["x"], cdnow["zbar"] * 1000)  # large B2B amounts fit too
    assert in_cents.ok and in_cents.gamma == pytest.approx(in_usd.gamma * 1000, rel=0.005)
    assert (in_cents.p, in_cents.q) == pytest.approx((in_usd.p, in_usd.q), rel=0.005)
