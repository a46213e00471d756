"""Interactions, tasks and tickets made through the services, as the pages make them."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from customers.tests.conftest import (  # noqa: F401 - shared fixtures
    colleague_customer,
    customer_make,
    far_customer,
    own_customer,
    pool_customer,
)
from interactions.services import interaction_log, ticket_open
from sales.tests.conftest import headphones, order_make, product_make  # noqa: F401


def hours_ago(hours: float) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(hours=hours)


def hours_ahead(hours: float) -> datetime.datetime:
    return timezone.now() + datetime.timedelta(hours=hours)


@pytest.fixture
def log(db):
    """log(actor, customer, **data): an interaction logged through the service."""

    def make(actor, customer, **data):
        data.setdefault("channel", "phone")
        data.setdefault("subject", "电话回访")
        return interaction_log(actor=actor, customer_id=customer.pk, data=data)

    return make


@pytest.fixture
def ticket_make(db):
    def make(actor, customer, **data):
        data.setdefault("subject", "空调不制冷")
        data.setdefault("category", "repair")
        data.setdefault("priority", "normal")
        return ticket_open(actor=actor, customer_id=customer.pk, data=data)

    return make
