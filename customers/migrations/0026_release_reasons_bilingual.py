"""Release reasons named in both languages (issue 26, item 4). Migration 0021
seeded them before the catalogues were compiled, so a Chinese site showed "Not
interested": the seeded English names get their Chinese, and every reason keeps
its name as the other language's until an admin writes one."""

from django.db import migrations, models
from django.db.models.functions import Lower

# The defaults of migration 0021 (customers.ownership.DEFAULT_RELEASE_REASONS),
# as the zh_Hans catalogue translates them.
DEFAULTS = {
    "Not interested": "无意向",
    "Cannot be reached": "联系不上",
    "Bought from a competitor": "已从竞争对手处购买",
    "Not my region or line": "不属于我的区域或业务",
    "Other": "其他",
}
ENGLISH = {zh: en for en, zh in DEFAULTS.items()}


def names_forward(apps, schema_editor):
    ReleaseReason = apps.get_model("customers", "ReleaseReason")
    for reason in ReleaseReason.objects.all():
        written = reason.name_zh
        if written in DEFAULTS:
            reason.name_zh, reason.name_en = DEFAULTS[written], written
        else:
            reason.name_en = ENGLISH.get(written, "")
        reason.save(update_fields=["name_zh", "name_en"])


def names_backward(apps, schema_editor):
    pass  # name_zh becomes the one name again, in whichever language it is


class Migration(migrations.Migration):
    dependencies = [("customers", "0025_value_mappings")]

    operations = [
        migrations.RemoveConstraint(
            model_name="releasereason", name="customers_release_reason_name_ci"
        ),
        migrations.RenameField(model_name="releasereason", old_name="name", new_name="name_zh"),
        migrations.AlterField(
            model_name="releasereason",
            name="name_zh",
            field=models.CharField(max_length=60, verbose_name="name in Chinese"),
        ),
        migrations.AddField(
            model_name="releasereason",
            name="name_en",
            field=models.CharField(
                blank=True, default="", max_length=60, verbose_name="name in English"
            ),
        ),
        migrations.RunPython(names_forward, names_backward),
        migrations.AddConstraint(
            model_name="releasereason",
            constraint=models.UniqueConstraint(
                Lower("name_zh"), name="customers_release_reason_name_ci"
            ),
        ),
    ]
