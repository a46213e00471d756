"""What sales tells the layers above it. Loyalty (feedback) earns and takes back
points as orders change; it connects in its AppConfig.ready(), so sales never
imports it."""

from django.dispatch import Signal

# Sent inside the transaction that created or changed the orders, with
# `order_ids`: a receiver's writes commit or roll back with them.
orders_changed = Signal()
