"""Churn episodes (customers.churn) and the daily churn-alert scan in the beat
schedule: 06:30, after the night's figures (02:15) and the freshness audit
(06:00), so the alerts are there when the working day starts."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from crm.beat import job_entry

churn_schedule = job_entry("customers.churn_alerts", "churn_alerts", hour="6", minute="30")


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0019_freshness_policy"),
        ("interactions", "0004_one_open_freshness_task"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.CreateModel(
            name="ChurnEpisode",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("started_on", models.DateField(verbose_name="alerted on")),
                (
                    "started_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, verbose_name="alerted at"
                    ),
                ),
                (
                    "lifecycle",
                    models.CharField(
                        choices=[
                            ("lead", "Lead"),
                            ("active", "Active"),
                            ("at_risk", "At risk"),
                            ("churned", "Churned"),
                        ],
                        max_length=10,
                        verbose_name="lifecycle stage",
                    ),
                ),
                ("last_purchase_at", models.DateTimeField(verbose_name="last purchase")),
                ("purchase_days", models.PositiveIntegerField(verbose_name="purchase days")),
                (
                    "purchase_interval_days",
                    models.DecimalField(
                        blank=True,
                        decimal_places=1,
                        max_digits=8,
                        null=True,
                        verbose_name="usual days between purchases",
                    ),
                ),
                (
                    "days_since_purchase",
                    models.IntegerField(verbose_name="days since last purchase"),
                ),
                (
                    "p_alive",
                    models.DecimalField(
                        blank=True,
                        decimal_places=4,
                        max_digits=5,
                        null=True,
                        verbose_name="P(alive)",
                    ),
                ),
                (
                    "interactions_90d",
                    models.PositiveIntegerField(verbose_name="interactions in 90 days"),
                ),
                (
                    "usual_interactions_90d",
                    models.DecimalField(
                        blank=True,
                        decimal_places=1,
                        max_digits=8,
                        null=True,
                        verbose_name="usual interactions per 90 days",
                    ),
                ),
                (
                    "days_since_contact",
                    models.IntegerField(
                        blank=True, null=True, verbose_name="days since last contact"
                    ),
                ),
                (
                    "typical_interval_days",
                    models.DecimalField(
                        blank=True,
                        decimal_places=1,
                        max_digits=8,
                        null=True,
                        verbose_name="typical days between purchases",
                    ),
                ),
                (
                    "at_risk_p_alive",
                    models.DecimalField(
                        decimal_places=2, max_digits=3, verbose_name="at risk below P(alive)"
                    ),
                ),
                (
                    "contact_drop_share",
                    models.PositiveSmallIntegerField(
                        verbose_name="interaction drop below (percent of usual)"
                    ),
                ),
                (
                    "total_spent",
                    models.DecimalField(
                        decimal_places=2, max_digits=16, verbose_name="total spent"
                    ),
                ),
                ("ended_at", models.DateTimeField(blank=True, null=True, verbose_name="ended at")),
                (
                    "outcome",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("bought", "Bought again"),
                            ("lost", "Marked lost"),
                            ("gone", "Customer deleted"),
                        ],
                        max_length=10,
                        verbose_name="how it ended",
                    ),
                ),
                (
                    "lost_reason",
                    models.CharField(
                        blank=True, default="", max_length=500, verbose_name="why lost"
                    ),
                ),
                (
                    "customer",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="churn_episodes",
                        to="customers.customer",
                        verbose_name="customer",
                    ),
                ),
                (
                    "ended_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="marked lost by",
                    ),
                ),
                (
                    "owner",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="owner alerted",
                    ),
                ),
                (
                    "task",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="interactions.task",
                        verbose_name="win-back task",
                    ),
                ),
            ],
            options={
                "verbose_name": "churn alert",
                "verbose_name_plural": "churn alerts",
                "ordering": ["-started_at", "-id"],
                "indexes": [
                    models.Index(fields=["started_on"], name="customers_churn_started_idx")
                ],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("ended_at__isnull", True)),
                        fields=("customer",),
                        name="customers_churn_one_open",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("ended_at__isnull", True), ("outcome", "")),
                            models.Q(
                                ("ended_at__isnull", False),
                                models.Q(("outcome", ""), _negated=True),
                            ),
                            _connector="OR",
                        ),
                        name="customers_churn_outcome_given",
                    ),
                ],
            },
        ),
        migrations.RunPython(*churn_schedule),
    ]
