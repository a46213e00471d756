"""Products and orders made through the services, as the pages make them."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from customers.tests.conftest import (  # noqa: F401 - shared fixtures
    colleague_customer,
    customer_make,
    far_customer,
    own_customer,
    pool_customer,
)
from sales.services import LineInput, order_create, product_save


@pytest.fixture
def product_make(db, manager):
    def make(sku="P-001", name="无线耳机", price="299.00", **data):
        return product_save(
            actor=manager, data={"sku": sku, "name": name, "list_price": price, **data}
        )

    return make


@pytest.fixture
def headphones(product_make):
    return product_make("EAR-01", "无线耳机", "299.00", category="数码", brand="华为")


@pytest.fixture
def kettle(product_make):
    return product_make("KET-02", "电水壶", "89.90", category="家电", brand="美的")


def days_ago(days: int, hour: int = 10) -> datetime.datetime:
    """That day at `hour` local time; today at the latest a minute ago."""
    now = timezone.localtime()
    moment = (now - datetime.timedelta(days=days)).replace(
        hour=hour, minute=0, second=0, microsecond=0
    )
    return min(moment, now - datetime.timedelta(minutes=1))


@pytest.fixture
def order_make(db, steward):
    """order_make(customer, lines=[(product, qty, price, discount)], **data)."""

    def make(customer, lines, actor=None, **data):
        data.setdefault("status", "paid")
        inputs = [
            LineInput(
                product=product,
                quantity=Decimal(str(qty)),
                unit_price=None if price is None else Decimal(str(price)),
                discount_percent=Decimal(str(discount)) if discount else None,
            )
            for product, qty, price, discount in lines
        ]
        return order_create(
            actor=actor or steward, customer_id=customer.pk, data=data, lines=inputs
        )

    return make
