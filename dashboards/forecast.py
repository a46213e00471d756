"""The revenue forecast (docs/dashboards.md), two ways:

- from the customer base: each buying customer's expected purchases in each of
  the next three calendar months (BG/NBD) × their expected spend per purchase
  (Gamma-Gamma), summed by the customers' owner and team, kept per day it was
  made (`ForecastMonth`);
- from the pipeline: each open opportunity's amount × its probability, in the
  month of its expected close (read live: the open pipeline is small).

The backtest is the base forecast made at the end of the month before the last
three complete months, fitted on what was known then, against what was sold in
those three months.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from django.db import connection
from django.db.models import F, Sum
from django.db.models.functions import TruncMonth

from crm.bulkcopy import temp_table_copy_arrays
from dashboards.models import ForecastMonth
from segmentation import clv

MONTHS = 3
KEEP_DAILY_DAYS = 7  # older forecasts are kept for month ends only (the backtests)


def month_after(month: datetime.date) -> datetime.date:
    return (month.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)


def forecast_months(as_of: datetime.date) -> list[datetime.date]:
    """The first days of the three calendar months after the as-of day's month."""
    months = [month_after(as_of.replace(day=1))]
    while len(months) < MONTHS:
        months.append(month_after(months[-1]))
    return months


def backtest_day(today: datetime.date) -> datetime.date:
    """The last day of the month before the last three complete months."""
    first = today.replace(day=1)
    for __ in range(MONTHS):
        first = (first - datetime.timedelta(days=1)).replace(day=1)
    return first - datetime.timedelta(days=1)


def _per_customer(as_of, inputs: clv.Inputs, bgnbd, gamma_gamma, average: float):
    """Expected revenue of each customer in each forecast month (rows: months)."""
    x, t_x, age = inputs.x, inputs.t_x, inputs.T
    if gamma_gamma is not None and gamma_gamma.ok:
        spend = clv.expected_spend(gamma_gamma, x, inputs.m, fallback=average)
    else:
        spend = np.where(inputs.m > 0, inputs.m, average)
    months = forecast_months(as_of)
    edges = [(month - as_of).days - 1 for month in [*months, month_after(months[-1])]]
    cumulative = [clv.expected_purchases(bgnbd, float(t), x, t_x, age) for t in edges]
    values = [(cumulative[k + 1] - cumulative[k]) * spend for k in range(MONTHS)]
    return months, [np.nan_to_num(v, nan=0.0, posinf=0.0, neginf=0.0) for v in values]


_WRITE = """
INSERT INTO dashboards_forecastmonth (made_on, month, owner_key, team_key, revenue)
SELECT %(made_on)s, v.month, coalesce(c.owner_id, 0), coalesce(c.team_id, 0),
       round(sum(v.value)::numeric, 2)
FROM kehu_forecast f
JOIN customers_customer c ON c.id = f.customer_id AND c.deleted_at IS NULL
CROSS JOIN LATERAL (VALUES (%(m1)s::date, f.first), (%(m2)s::date, f.second),
                           (%(m3)s::date, f.third)) AS v(month, value)
GROUP BY 2, 3, 4
"""


def forecast_write(
    made_on: datetime.date, inputs: clv.Inputs, bgnbd, gamma_gamma, average: float
) -> int:
    """Replace the base forecast made on `made_on`; nothing without a BG/NBD fit."""
    ForecastMonth.objects.filter(made_on=made_on).delete()
    if bgnbd is None or not bgnbd.ok or not len(inputs.customer_ids):
        return 0
    months, values = _per_customer(made_on, inputs, bgnbd, gamma_gamma, average)
    temp_table_copy_arrays(
        "kehu_forecast",
        {"customer_id": inputs.customer_ids.astype(np.int64), "first": values[0],
         "second": values[1], "third": values[2]},
    )  # fmt: skip
    params = {"made_on": made_on, "m1": months[0], "m2": months[1], "m3": months[2]}
    with connection.cursor() as cursor:
        cursor.execute(_WRITE, params)
        written = cursor.rowcount
        cursor.execute("DROP TABLE kehu_forecast")
    return written


def forecast_prune(as_of: datetime.date) -> None:
    """Keep the last week's forecasts and those made at a month's end."""
    stale = ForecastMonth.objects.filter(
        made_on__lt=as_of - datetime.timedelta(days=KEEP_DAILY_DAYS)
    ).exclude(made_on__in=_month_ends(as_of))
    stale.delete()


def _month_ends(as_of: datetime.date) -> list[datetime.date]:
    days = ForecastMonth.objects.values_list("made_on", flat=True).distinct()
    return [day for day in days if (day + datetime.timedelta(days=1)).day == 1]


def backtest_ensure(today: datetime.date, average: float) -> datetime.date | None:
    """Make the backtest's forecast (fitted on the orders up to its day, the same
    way as the nightly one: `average` is the spend of a one-time buyer) unless it
    is there; the day it is made on, or None when the model could not be fitted."""
    made_on = backtest_day(today)
    if ForecastMonth.objects.filter(made_on=made_on).exists():
        return made_on
    inputs = clv.model_inputs(made_on)
    bgnbd = clv.bgnbd_fit(inputs.x, inputs.t_x, inputs.T)
    if not bgnbd.ok:
        return None
    gamma_gamma = clv.gamma_gamma_fit(inputs.x, inputs.m)
    forecast_write(made_on, inputs, bgnbd, gamma_gamma, average)
    return made_on


@dataclass(frozen=True)
class Backtest:
    made_on: datetime.date
    months: list[datetime.date]
    forecast: Decimal
    actual: Decimal

    @property
    def error_percent(self) -> Decimal | None:
        """(forecast − actual) / actual, in per cent; None when nothing was sold."""
        if not self.actual:
            return None
        return (100 * (self.forecast - self.actual) / self.actual).quantize(Decimal("0.1"))

    @property
    def error_size(self) -> Decimal | None:
        """How far off, without its direction (said in words: too high, too low)."""
        error = self.error_percent
        return None if error is None else abs(error)


def backtest(today: datetime.date, owners: dict, days) -> Backtest | None:
    """The forecast made on the backtest day for the three months since, and the
    sales of those months, within the scope (`owners`: a filter on the forecast's
    keys; `days`: the scope's sales by day)."""
    made_on = backtest_day(today)
    rows = ForecastMonth.objects.filter(made_on=made_on, **owners)
    if not rows.exists():
        return None
    months = forecast_months(made_on)
    forecast = rows.aggregate(total=Sum("revenue"))["total"] or Decimal(0)
    actual = days.filter(day__gte=months[0], day__lt=month_after(months[-1])).aggregate(
        total=Sum("revenue")
    )["total"] or Decimal(0)
    return Backtest(made_on, months, forecast, actual)


def actuals_by_month(days, first: datetime.date, end: datetime.date) -> dict:
    """Revenue by month from the scope's sales by day."""
    rows = (
        days.filter(day__gte=first, day__lt=end)
        .annotate(month=TruncMonth("day"))
        .values("month")
        .annotate(revenue=Sum(F("revenue")))
    )
    return {row["month"]: row["revenue"] for row in rows}
