from __future__ import annotations

import pytest

from feedback.services import feedback_record
from interactions.tests.conftest import (  # noqa: F401 - shared fixtures
    colleague_customer,
    customer_make,
    far_customer,
    headphones,
    log,
    order_make,
    own_customer,
    pool_customer,
    product_make,
    ticket_make,
)


@pytest.fixture
def feedback_make(db):
    def make(actor, customer, **data):
        data.setdefault("channel", "phone")
        return feedback_record(actor=actor, customer_id=customer.pk, data=data)

    return make
