"""Customers made through the service, for the tests of the jobs that read them."""

from customers.tests.conftest import customer_make  # noqa: F401 - shared fixture
