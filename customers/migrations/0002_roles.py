"""Give the role groups their customer permissions (crm.roles.ROLE_PERMISSIONS)."""

from django.db import migrations


def roles_forward(apps, schema_editor):
    from crm.roles import roles_sync

    roles_sync(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0001_initial"),
        ("crm", "0002_roles_audit_guard_schedules"),
    ]

    operations = [migrations.RunPython(roles_forward, migrations.RunPython.noop)]
