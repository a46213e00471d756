"""Run a periodic job by hand (crm.jobs): `run_job NAME [--as-of DATE]`, or
`run_job --list`. The last line says what the run did."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from crm.jobs import JOBS, job_run
from crm.management.arguments import as_of_day
from crm.models import JobRun


class Command(BaseCommand):
    help = "Run a periodic job now (locked and recorded like a scheduled run)."

    def add_arguments(self, parser):
        parser.add_argument("name", nargs="?", help="the job (run_job --list names them)")
        parser.add_argument("--as-of", type=as_of_day, help="the day to run at (default: today)")
        parser.add_argument(
            "--list", action="store_true", dest="listing", help="print the jobs' names"
        )

    def handle(self, *args, name=None, as_of=None, listing=False, **options):
        if listing:
            for job in JOBS.values():
                self.stdout.write(f"{job.name}\t{job.description}")
            return
        if name not in JOBS:
            known = ", ".join(JOBS)
            raise CommandError(f"no job {name!r}; the jobs are: {known}")
        run = job_run(name, as_of, trigger=JobRun.Trigger.HAND)
        if run.status == JobRun.Status.SKIPPED:
            raise CommandError(f"{name} skipped: a run of it is under way")
        seconds = (run.finished_at - run.started_at).total_seconds()
        self.stdout.write(f"{name} at {run.as_of} done in {seconds:.1f} s: {run.counts_text()}")
