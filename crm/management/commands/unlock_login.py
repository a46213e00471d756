from django.core.management.base import BaseCommand

from crm.services import login_unlock


class Command(BaseCommand):
    help = "Lift the log-in lock on a username at once."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username: str, **options):
        count = login_unlock(actor=None, username=username)
        self.stdout.write(f"{username}: {count} recorded failure(s) forgotten; unlocked.")
