"""Recompute every customer's purchase metrics, and the sales by day, from the
orders (idempotent)."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction

from customers.metrics import metrics_refresh


class Command(BaseCommand):
    help = "Recompute every customer's purchase metrics and the sales by day from the orders."

    def handle(self, *args, **options):
        from sales.rollup import sales_days_rebuild

        with transaction.atomic():
            changed = metrics_refresh()
            sales_days_rebuild()
        self.stdout.write(f"{changed} customers' metrics changed; sales by day rebuilt.")
