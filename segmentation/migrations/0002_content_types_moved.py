"""The moved models' content types follow them to the segmentation app, so the
permissions given to roles and people, and the audit events about them, stay
attached; the roles get their permissions again under the new app label."""

from django.db import migrations

from crm.roles import roles_sync

MOVED = ("metricschange", "metricsrun", "segmentationrules", "churnepisode")


def content_types_move(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MOVED:
        old = ContentType.objects.filter(app_label="customers", model=model).first()
        if old is None:
            continue  # a new database: made under segmentation after migrate
        # One made under the new label during this migrate (the permissions step
        # of an earlier migration) holds nothing yet: the old one takes its place.
        ContentType.objects.filter(app_label="segmentation", model=model).delete()
        old.app_label = "segmentation"
        old.save(update_fields=["app_label"])


def content_types_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="segmentation", model__in=MOVED).update(
        app_label="customers"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("segmentation", "0001_initial"),
        ("customers", "0028_segmentation_moved_out"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [
        migrations.RunPython(content_types_move, content_types_back),
        migrations.RunPython(roles_sync, migrations.RunPython.noop),
    ]
