"""Recompute every customer's purchase metrics from the orders (idempotent)."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction

from customers.metrics import metrics_refresh


class Command(BaseCommand):
    help = "Recompute the purchase metrics of every customer from their orders."

    def handle(self, *args, **options):
        with transaction.atomic():
            changed = metrics_refresh()
        self.stdout.write(f"{changed} customers' metrics changed.")
