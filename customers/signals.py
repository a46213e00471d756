"""What customers tells the apps above it, which connect in their AppConfig.ready()."""

from django.dispatch import Signal

# A customer's record was confirmed with the customer (customers.services.records.customer_verify),
# in its transaction: customer=, actor=, at=.
customer_verified = Signal()
