"""Demo data for a newcomer: one team, one user per role, and (as the domain apps
arrive) customers with their history.

Each domain app may provide `<app>/seed.py` with `seed(*, context, stdout)`;
this command calls them in app order, so `--customers N` reaches whichever app
owns customers. Seeders write in bulk so 100,000 customers take under a minute.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field

from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from crm import roles
from crm.fields import blind_index
from crm.jobs import JOBS, job_run
from crm.models import JobRun, Team, User

DEFAULT_PASSWORD = "kehu-demo"  # noqa: S105 - the documented demo password
DEFAULT_CUSTOMERS = 2000

# username, last name, first name, role, manages the team
DEMO_PEOPLE = (
    ("admin", "管", "理员", None, False),
    ("manager", "王", "经理", roles.SALES_MANAGER, True),
    ("rep1", "李", "娜", roles.SALES_REP, False),
    ("rep2", "张", "伟", roles.SALES_REP, False),
    ("steward", "陈", "静", roles.DATA_STEWARD, False),
    ("auditor", "刘", "洋", roles.AUDITOR, False),
    ("service", "周", "婷", roles.SERVICE_AGENT, False),
)

DEMO_MOBILES = {
    "manager": "+8613800138001",
    "rep1": "+8613800138002",
    "rep2": "+8613800138003",
}


@dataclass
class SeedContext:
    """What every app's seeder gets: the people, and how much to make."""

    customers: int
    orders: int | None = None  # None: the sales app's own default per customer
    interactions: int | None = None  # None: the interactions app's default per customer
    users: dict[str, User] = field(default_factory=dict)
    team: Team | None = None
    seed: int = 20261124


def context_has_customers() -> bool:
    from django.apps import apps as registry

    return (
        registry.is_installed("customers")
        and registry.get_model("customers", "Customer").objects.exists()
    )


class Command(BaseCommand):
    help = "Load demo data: a team, one user per role, and customers once that app exists."

    def add_arguments(self, parser):
        parser.add_argument("--password", default=DEFAULT_PASSWORD)
        parser.add_argument("--customers", type=int, default=DEFAULT_CUSTOMERS)
        parser.add_argument(
            "--orders", type=int, default=None, help="Demo orders (default: three per customer)."
        )
        parser.add_argument(
            "--interactions",
            type=int,
            default=None,
            help="Demo interactions (default: five per customer, unevenly).",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when the database already has users (for `make run`).",
        )
        parser.add_argument(
            "--force", action="store_true", help="Run even with DEBUG off (never on live data)."
        )

    def handle(
        self,
        *args,
        password: str,
        customers: int,
        orders: int | None,
        interactions: int | None,
        if_empty: bool,
        force: bool,
        **opts,
    ):
        if not settings.DEBUG and not force:
            raise CommandError(
                "DEBUG is off: demo data does not belong in production. Add --force if you mean it."
            )
        if customers < 0 or any(n is not None and n < 0 for n in (orders, interactions)):
            raise CommandError("--customers, --orders and --interactions cannot be negative.")
        if if_empty and User.objects.exists():
            self.stdout.write("The database already has users; no demo data loaded.")
            return
        context = SeedContext(customers=customers, orders=orders, interactions=interactions)
        if opts.get("verbosity", 1) < 2:
            # The jobs' and the recompute's own log lines (model parameters, step
            # timings) are for operators; seeding says what a user needs: counts.
            for name in ("crm.jobs", "segmentation.runs"):
                logging.getLogger(name).setLevel(logging.WARNING)
        with transaction.atomic():
            self._seed_people(context, password)
            for app_config in apps.get_app_configs():
                try:
                    module = importlib.import_module(f"{app_config.name}.seed")
                except ModuleNotFoundError as exc:
                    if exc.name != f"{app_config.name}.seed":
                        raise
                    continue
                module.seed(context=context, stdout=self.stdout)
        self._nightly_jobs()
        self._print_people(context, password)

    # The periodic jobs a night would run, once, so every page tells one story:
    # the churn page has the alerts the dashboard counts, customers shown as due
    # for recycling are back in the pool, the verification tasks and reminders are
    # there (the metrics were recomputed by the dashboards' seed).
    NIGHTLY = ("churn_alerts", "pool_recycle", "freshness_audit", "reminders")

    def _nightly_jobs(self) -> None:
        if not context_has_customers():
            return
        counts = {}
        for name in self.NIGHTLY:
            if name in JOBS:
                counts[name] = job_run(name, trigger=JobRun.Trigger.HAND).counts
        told = [
            f"{counts.get('churn_alerts', {}).get('alerts', 0)} churn alerts",
            f"{counts.get('pool_recycle', {}).get('returned', 0)} customers back to the pool",
            f"{counts.get('freshness_audit', {}).get('tasks_created', 0)} verification tasks",
            f"{sum(counts.get('reminders', {}).values())} reminders",
        ]
        self.stdout.write("Nightly jobs run once: " + ", ".join(told) + ".")

    def _seed_people(self, context: SeedContext, password: str) -> None:
        team, _created = Team.objects.get_or_create(name="华东销售一组")
        groups = {group.name: group for group in Group.objects.filter(name__in=roles.ROLE_LABELS)}
        if len(groups) != len(roles.ROLE_LABELS):
            raise CommandError("The role groups are missing; run `python manage.py migrate` first.")
        for username, last, first, role, manages in DEMO_PEOPLE:
            user, _created = User.objects.get_or_create(username=username)
            user.last_name, user.first_name = last, first
            user.email = f"{username}@kehu.example"
            user.mobile = DEMO_MOBILES.get(username, "")
            user.mobile_index = blind_index(user.mobile)
            user.is_active = True
            user.is_staff = user.is_superuser = role is None
            user.team = team if role in (roles.SALES_REP, roles.SALES_MANAGER) else None
            user.set_password(password)
            user.save()
            user.groups.set([groups[role]] if role else [])
            if manages:
                team.manager = user
                team.save(update_fields=["manager"])
            context.users[username] = user
        context.team = team

    def _print_people(self, context: SeedContext, password: str) -> None:
        self.stdout.write(self.style.SUCCESS(f"Demo users (password: {password}):"))
        for username, _last, _first, role, _manages in DEMO_PEOPLE:
            label = roles.role_label(role) if role else str(roles.ADMIN_LABEL)
            self.stdout.write(f"  {username:<10} {label}")
