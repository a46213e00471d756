import crm.models
import django.core.serializers.json
import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from decimal import Decimal
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('customers', '0027_workbench_key_accounts_index'),
        ('interactions', '0004_one_open_freshness_task'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # Made in the customers app (customers 0010, 0015, 0017, 0020): the tables
        # and their rows stay as they are, only the state moves here.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='MetricsChange',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('customer_id', models.BigIntegerField(verbose_name='customer')),
                        ('ordered_at', models.DateTimeField(blank=True, null=True, verbose_name='ordered at')),
                    ],
                    options={
                        'verbose_name': 'metrics change',
                        'verbose_name_plural': 'metrics changes',
                        'db_table': 'customers_metricschange',
                    },
                ),
                migrations.CreateModel(
                    name='MetricsRun',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('as_of', models.DateField(verbose_name='as of')),
                        ('started_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='started')),
                        ('finished_at', models.DateTimeField(blank=True, null=True, verbose_name='finished')),
                        ('status', models.CharField(choices=[('running', 'Running'), ('done', 'Done'), ('failed', 'Failed')], default='running', max_length=10, verbose_name='status')),
                        ('customers', models.PositiveIntegerField(default=0, verbose_name='customers')),
                        ('buyers', models.PositiveIntegerField(default=0, verbose_name='buying customers')),
                        ('changed', models.PositiveIntegerField(default=0, verbose_name='rows changed')),
                        ('stage_changes', models.PositiveIntegerField(default=0, verbose_name='stage changes')),
                        ('bgnbd_ok', models.BooleanField(default=False, verbose_name='BG/NBD fitted')),
                        ('r', models.FloatField(blank=True, null=True, verbose_name='r')),
                        ('alpha', models.FloatField(blank=True, null=True, verbose_name='alpha')),
                        ('a', models.FloatField(blank=True, null=True, verbose_name='a')),
                        ('b', models.FloatField(blank=True, null=True, verbose_name='b')),
                        ('log_likelihood', models.FloatField(blank=True, null=True, verbose_name='log-likelihood')),
                        ('bgnbd_note', models.CharField(blank=True, default='', max_length=200, verbose_name='BG/NBD note')),
                        ('gamma_gamma_ok', models.BooleanField(default=False, verbose_name='Gamma-Gamma fitted')),
                        ('p', models.FloatField(blank=True, null=True, verbose_name='p')),
                        ('q', models.FloatField(blank=True, null=True, verbose_name='q')),
                        ('gamma', models.FloatField(blank=True, null=True, verbose_name='γ')),
                        ('gamma_gamma_note', models.CharField(blank=True, default='', max_length=200, verbose_name='Gamma-Gamma note')),
                        ('typical_interval_days', models.DecimalField(blank=True, decimal_places=1, max_digits=8, null=True, verbose_name='typical days between purchases')),
                        ('average_order_value', models.DecimalField(blank=True, decimal_places=2, max_digits=16, null=True, verbose_name='average order value')),
                        ('breakpoints', models.JSONField(blank=True, default=dict, verbose_name='breakpoints')),
                        ('rules', models.JSONField(blank=True, default=dict, encoder=django.core.serializers.json.DjangoJSONEncoder, verbose_name='rules')),
                        ('timings', models.JSONField(blank=True, default=dict, verbose_name='seconds per step')),
                        ('error', models.TextField(blank=True, default='', verbose_name='error')),
                        ('full', models.BooleanField(default=True, verbose_name='all figures read again')),
                        ('recomputed', models.PositiveIntegerField(default=0, verbose_name='customers read again')),
                        ('figures_version', models.PositiveSmallIntegerField(default=0, verbose_name='figures version')),
                    ],
                    options={
                        'verbose_name': 'metrics run',
                        'verbose_name_plural': 'metrics runs',
                        'db_table': 'customers_metricsrun',
                        'ordering': ['-started_at'],
                        'indexes': [models.Index(fields=['status', '-started_at'], name='customers_run_status_idx')],
                    },
                ),
                migrations.CreateModel(
                    name='SegmentationRules',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('frequency_high', models.PositiveSmallIntegerField(default=6, validators=[django.core.validators.MinValueValidator(2)], verbose_name='high frequency from (purchase days in 12 months)')),
                        ('frequency_medium', models.PositiveSmallIntegerField(default=2, help_text='Below this but at least one purchase day: low; none in 12 months: none.', validators=[django.core.validators.MinValueValidator(1)], verbose_name='medium frequency from (purchase days in 12 months)')),
                        ('value_mode', models.CharField(choices=[('share', 'By share of buying customers'), ('amount', 'By amount spent')], default='share', max_length=10, verbose_name='value tiers')),
                        ('value_high_share', models.PositiveSmallIntegerField(default=20, help_text='The top share of buying customers by total spent.', validators=[django.core.validators.MaxValueValidator(100)], verbose_name='high value: top share (%)')),
                        ('value_medium_share', models.PositiveSmallIntegerField(default=30, help_text='The share after the high tier; the rest: low.', validators=[django.core.validators.MaxValueValidator(100)], verbose_name='medium value: next share (%)')),
                        ('value_high_amount', models.DecimalField(decimal_places=2, default=Decimal('50000'), max_digits=16, validators=[django.core.validators.MinValueValidator(Decimal('0.01'))], verbose_name='high value from (CNY spent)')),
                        ('value_medium_amount', models.DecimalField(decimal_places=2, default=Decimal('5000'), max_digits=16, validators=[django.core.validators.MinValueValidator(Decimal('0.01'))], verbose_name='medium value from (CNY spent)')),
                        ('default_interval_days', models.PositiveSmallIntegerField(default=90, help_text="For customers who bought on one day only, while no customer has bought twice; otherwise the median of the repeat buyers' own intervals is used.", validators=[django.core.validators.MinValueValidator(1)], verbose_name='usual days between purchases when unknown')),
                        ('at_risk_factor', models.DecimalField(decimal_places=1, default=Decimal('1.5'), help_text='At risk when the days since the last purchase exceed this many usual intervals.', max_digits=4, validators=[django.core.validators.MinValueValidator(Decimal('1.0'))], verbose_name='at risk after (× own interval)')),
                        ('churned_factor', models.DecimalField(decimal_places=1, default=Decimal('3.0'), help_text='Churned when past this many usual intervals and the model agrees (below).', max_digits=4, validators=[django.core.validators.MinValueValidator(Decimal('1.0'))], verbose_name='churned after (× own interval)')),
                        ('at_risk_p_alive', models.DecimalField(decimal_places=2, default=Decimal('0.50'), help_text="At risk when the model's probability that the customer is still active is lower.", max_digits=3, validators=[django.core.validators.MinValueValidator(Decimal('0.01')), django.core.validators.MaxValueValidator(Decimal('0.99'))], verbose_name='at risk below P(alive)')),
                        ('churned_p_alive', models.DecimalField(decimal_places=2, default=Decimal('0.20'), help_text='With the interval rule: churned when the probability is lower (or unknown).', max_digits=3, validators=[django.core.validators.MinValueValidator(Decimal('0.01')), django.core.validators.MaxValueValidator(Decimal('0.99'))], verbose_name='churned below P(alive)')),
                        ('contact_drop_share', models.PositiveSmallIntegerField(default=50, help_text="Fewer interactions in 90 days than this share of the customer's usual rate.", validators=[django.core.validators.MaxValueValidator(100)], verbose_name='interaction drop below (percent of usual)')),
                        ('updated_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='updated at')),
                    ],
                    options={
                        'verbose_name': 'segmentation rules',
                        'verbose_name_plural': 'segmentation rules',
                        'db_table': 'customers_segmentationrules',
                        'constraints': [models.CheckConstraint(condition=models.Q(('id', 1)), name='customers_segmentation_rules_one_row')],
                    },
                    bases=(crm.models.OneRowMixin, models.Model),
                ),
                migrations.CreateModel(
                    name='ChurnEpisode',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('started_on', models.DateField(verbose_name='alerted on')),
                        ('started_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='alerted at')),
                        ('lifecycle', models.CharField(choices=[('lead', 'Lead'), ('active', 'Active'), ('at_risk', 'At risk'), ('churned', 'Churned')], max_length=10, verbose_name='lifecycle stage')),
                        ('last_purchase_at', models.DateTimeField(verbose_name='last purchase')),
                        ('purchase_days', models.PositiveIntegerField(verbose_name='purchase days')),
                        ('purchase_interval_days', models.DecimalField(blank=True, decimal_places=1, max_digits=8, null=True, verbose_name='usual days between purchases')),
                        ('days_since_purchase', models.IntegerField(verbose_name='days since last purchase')),
                        ('p_alive', models.DecimalField(blank=True, decimal_places=4, max_digits=5, null=True, verbose_name='P(alive)')),
                        ('interactions_90d', models.PositiveIntegerField(verbose_name='interactions in 90 days')),
                        ('usual_interactions_90d', models.DecimalField(blank=True, decimal_places=1, max_digits=8, null=True, verbose_name='usual interactions per 90 days')),
                        ('days_since_contact', models.IntegerField(blank=True, null=True, verbose_name='days since last contact')),
                        ('typical_interval_days', models.DecimalField(blank=True, decimal_places=1, max_digits=8, null=True, verbose_name='typical days between purchases')),
                        ('at_risk_p_alive', models.DecimalField(decimal_places=2, max_digits=3, verbose_name='at risk below P(alive)')),
                        ('contact_drop_share', models.PositiveSmallIntegerField(verbose_name='interaction drop below (percent of usual)')),
                        ('total_spent', models.DecimalField(decimal_places=2, max_digits=16, verbose_name='total spent')),
                        ('ended_at', models.DateTimeField(blank=True, null=True, verbose_name='ended at')),
                        ('outcome', models.CharField(blank=True, choices=[('bought', 'Bought again'), ('lost', 'Marked lost'), ('gone', 'Customer deleted')], max_length=10, verbose_name='how it ended')),
                        ('lost_reason', models.CharField(blank=True, default='', max_length=500, verbose_name='why lost')),
                        ('customer', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='churn_episodes', to='customers.customer', verbose_name='customer')),
                        ('ended_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='marked lost by')),
                        ('owner', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='owner alerted')),
                        ('task', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='interactions.task', verbose_name='win-back task')),
                    ],
                    options={
                        'verbose_name': 'churn alert',
                        'verbose_name_plural': 'churn alerts',
                        'db_table': 'customers_churnepisode',
                        'ordering': ['-started_at', '-id'],
                        'indexes': [models.Index(fields=['started_on'], name='customers_churn_started_idx')],
                        'constraints': [models.UniqueConstraint(condition=models.Q(('ended_at__isnull', True)), fields=('customer',), name='customers_churn_one_open'), models.CheckConstraint(condition=models.Q(models.Q(('ended_at__isnull', True), ('outcome', '')), models.Q(('ended_at__isnull', False), models.Q(('outcome', ''), _negated=True)), _connector='OR'), name='customers_churn_outcome_given')],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
