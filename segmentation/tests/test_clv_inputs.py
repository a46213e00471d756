"""The buy-till-you-die models' inputs from the order history (segmentation.clv):
purchase days, net of refunds, as seen on an as-of day."""

from __future__ import annotations

import pytest


@pytest.mark.django_db
def test_the_inputs_count_purchase_days_net_of_refunds_up_to_the_as_of_day(
    rep, manager, customer_make, order_make, headphones
):
    import datetime

    from django.utils import timezone

    from sales.services.refunds import refund_create
    from segmentation.clv import model_inputs

    def on(day: str, hour: int = 10):
        return timezone.make_aware(datetime.datetime.fromisoformat(f"{day}T{hour:02d}:00"))

    buyer = customer_make(rep, name="常客")
    once = customer_make(rep, name="一次")
    customer_make(rep, name="从未购买")
    order_make(buyer, [(headphones, 1, "100.00", None)], ordered_at=on("2026-01-01"))
    order_make(buyer, [(headphones, 1, "50.00", None)], ordered_at=on("2026-01-01", 15))  # same day
    order_make(buyer, [(headphones, 1, "300.00", None)], ordered_at=on("2026-01-11"))
    late = order_make(buyer, [(headphones, 1, "200.00", None)], ordered_at=on("2026-01-31"))
    refund_create(actor=manager, order_id=late.pk, amount="100.00", reason="部分退货")
    order_make(buyer, [(headphones, 1, "999.00", None)], ordered_at=on("2026-03-01"))  # after as-of
    order_make(
        buyer, [(headphones, 1, "80.00", None)], ordered_at=on("2026-02-01"), status="pending"
    )  # fmt: skip - not paid: no purchase
    order_make(once, [(headphones, 1, "80.00", None)], ordered_at=on("2026-02-10"))
    inputs = model_inputs(datetime.date(2026, 2, 20))
    rows = {
        int(pk): (x, t, T, m)
        for pk, x, t, T, m in zip(
            inputs.customer_ids, inputs.x, inputs.t_x, inputs.T, inputs.m, strict=True
        )
    }
    # Days 01-01 (two orders), 01-11, 01-31: two repeat days, the last 30 days after
    # the first, 50 days old on 02-20; repeat value (300 + 100) / 2.
    assert rows == {buyer.pk: (2.0, 30.0, 50.0, 200.0), once.pk: (0.0, 0.0, 10.0, 0.0)}
    assert len(model_inputs(datetime.date(2025, 12, 31)).x) == 0  # before the first order


@pytest.mark.django_db
def test_the_purchase_figures_give_the_same_inputs_as_the_orders(
    rep, manager, customer_make, order_make, headphones
):
    import datetime

    from django.utils import timezone

    from sales.services.refunds import refund_create
    from segmentation.clv import model_inputs
    from segmentation.scoring import figures_inputs

    def on(day: str, hour: int = 10):
        return timezone.make_aware(datetime.datetime.fromisoformat(f"{day}T{hour:02d}:00"))

    buyer = customer_make(rep, name="常客")
    once = customer_make(rep, name="一次")
    order_make(buyer, [(headphones, 1, "100.00", None)], ordered_at=on("2026-01-01"))
    order_make(buyer, [(headphones, 1, "50.00", None)], ordered_at=on("2026-01-01", 15))
    order_make(buyer, [(headphones, 1, "300.00", None)], ordered_at=on("2026-01-11"))
    late = order_make(buyer, [(headphones, 1, "200.00", None)], ordered_at=on("2026-01-31"))
    refund_create(actor=manager, order_id=late.pk, amount="100.00", reason="部分退货")
    order_make(buyer, [(headphones, 1, "999.00", None)], ordered_at=on("2026-03-01"))
    order_make(once, [(headphones, 1, "80.00", None)], ordered_at=on("2026-02-10"))
    day = datetime.date(2026, 2, 20)

    def rows(inputs):
        columns = (inputs.customer_ids, inputs.x, inputs.t_x, inputs.T, inputs.m)
        return [tuple(float(v) for v in row) for row in zip(*columns, strict=True)]

    assert rows(figures_inputs(day)) == rows(model_inputs(day)) == [
        (buyer.pk, 2.0, 30.0, 50.0, 200.0), (once.pk, 0.0, 0.0, 10.0, 0.0)
    ]  # fmt: skip
    assert rows(figures_inputs(day, [once.pk])) == [(once.pk, 0.0, 0.0, 10.0, 0.0)]
    assert len(figures_inputs(datetime.date(2025, 12, 31)).x) == 0  # before the first order
