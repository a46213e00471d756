"""Recompute every customer's metrics, tiers, RFM, model scores and stage at an
as-of day, and print the fitted BG/NBD parameters (time in days)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from crm.management.arguments import as_of_day
from segmentation.runs import metrics_recompute


class Command(BaseCommand):
    help = (
        "Recompute every customer's metrics, tiers, RFM segment, churn and value scores and "
        "lifecycle stage (idempotent); the last line gives the fitted parameters."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--as-of", type=as_of_day, help="the day to compute at (default: today)"
        )
        parser.add_argument(
            "--full",
            action="store_true",
            help="read every customer's figures from the orders and interactions again "
            "(by default only those whose history changed or whose windows moved)",
        )

    def handle(self, *args, as_of=None, full=False, **options):
        run = metrics_recompute(as_of, full=full)
        seconds = (run.finished_at - run.started_at).total_seconds()
        read = "all figures read again" if run.full else f"{run.recomputed} customers read again"
        self.stdout.write(
            f"{run.customers} customers ({run.buyers} buying) at {run.as_of} in {seconds:.1f} s "
            f"({read}): {run.changed} rows changed, {run.stage_changes} stage changes."
        )
        if run.gamma_gamma_ok:
            self.stdout.write(f"Gamma-Gamma: p={run.p:.4f} q={run.q:.4f} gamma={run.gamma:.2f}")
        else:
            self.stdout.write(f"Gamma-Gamma: {run.gamma_gamma_note}")
        self.stdout.write(run.parameters())
