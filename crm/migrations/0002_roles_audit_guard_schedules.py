"""Data for a fresh database: the role groups, a guard that keeps the audit log
append-only, and the beat schedule of the core app's housekeeping job."""

from django.db import migrations


def roles_forward(apps, schema_editor):
    from crm.roles import roles_sync

    roles_sync(apps, schema_editor)


def schedules_forward(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    # 03:30 every night, Asia/Shanghai: forget failed log-ins older than a month.
    nightly, _created = CrontabSchedule.objects.get_or_create(
        minute="30", hour="3", day_of_week="*", day_of_month="*", month_of_year="*",
        timezone="Asia/Shanghai",
    )
    PeriodicTask.objects.get_or_create(
        name="crm.login_failures_prune",
        defaults={"task": "crm.login_failures_prune", "crontab": nightly},
    )


def schedules_backward(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name="crm.login_failures_prune").delete()


AUDIT_GUARD = """
CREATE FUNCTION crm_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % is not allowed', TG_OP;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER crm_auditevent_append_only
    BEFORE UPDATE OR DELETE ON crm_auditevent
    FOR EACH ROW EXECUTE FUNCTION crm_auditevent_append_only();
"""

AUDIT_GUARD_REVERSE = """
DROP TRIGGER IF EXISTS crm_auditevent_append_only ON crm_auditevent;
DROP FUNCTION IF EXISTS crm_auditevent_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.RunPython(roles_forward, migrations.RunPython.noop),
        migrations.RunSQL(AUDIT_GUARD, AUDIT_GUARD_REVERSE),
        migrations.RunPython(schedules_forward, schedules_backward),
    ]
