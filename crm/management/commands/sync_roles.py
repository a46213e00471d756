from django.apps import apps
from django.core.management.base import BaseCommand

from crm.roles import ROLE_PERMISSIONS, roles_sync


class Command(BaseCommand):
    help = "Give the role groups exactly the permissions of crm/roles.py (after a manual edit)."

    def handle(self, *args, **options):
        roles_sync(apps)
        self.stdout.write(f"{len(ROLE_PERMISSIONS)} roles synchronised.")
