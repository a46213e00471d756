"""Two interactions logged for one customer at the same moment, on real
PostgreSQL: the last-contact rollup counts both."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction

from customers.models import CustomerMetrics
from interactions.services.interactions import interaction_log

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_two_loggers_at_once_are_both_counted(rep, own_customer):
    first_written = threading.Event()
    errors: list[BaseException] = []

    def first():
        try:
            with transaction.atomic():
                interaction_log(
                    actor=rep, customer_id=own_customer.pk, data={"channel": "phone",
                                                                  "subject": "一"}
                )  # fmt: skip
                first_written.set()
                time.sleep(0.5)  # still uncommitted while the second one starts
        except BaseException as exc:  # handed to the test's thread
            errors.append(exc)
        finally:
            first_written.set()
            connection.close()

    def second():
        try:
            first_written.wait(5)
            interaction_log(
                actor=rep, customer_id=own_customer.pk, data={"channel": "visit", "subject": "二"}
            )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not errors, errors
    metrics = CustomerMetrics.objects.get(customer=own_customer)
    assert metrics.interactions_count == 2
    assert metrics.last_contact_channel == "visit"
