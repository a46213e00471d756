"""The log of writes that move a customer's figures (MetricsChange), filled by
statement-level triggers on the orders, order lines and interactions, so the
nightly recompute reads again only the customers whose history changed, however
it was written (a save, an import, an UPDATE in psql). Plus the two contact
figures the usual rate is worked out from, and what kind of run a run was.

The triggers cost one INSERT … SELECT per statement over its transition table
(bulk imports stay set-based). No run has filled first_contact_at and
interactions_before yet, so the next run is a full one: runs before this one
have figures version 0.
"""

from django.db import migrations, models

# What each table's rows log: the customer, and for orders the order time (the
# sales rollups of that day are rebuilt); a line logs its order's.
LOGGED = (
    ("sales_order", "order", "customer_id, ordered_at FROM {rows}"),
    ("sales_orderline", "order_line", "o.customer_id, o.ordered_at FROM (SELECT DISTINCT "
     "order_id FROM {rows}) l JOIN sales_order o ON o.id = l.order_id"),
    ("interactions_interaction", "interaction", "customer_id, NULL::timestamptz FROM {rows}"),
)  # fmt: skip

# One function per table; one trigger per event (PostgreSQL allows transition
# tables on single-event triggers only).
FUNCTION = """
CREATE FUNCTION kehu_{short}_logged() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO customers_metricschange (customer_id, ordered_at) SELECT {old};
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO customers_metricschange (customer_id, ordered_at) SELECT {new};
    END IF;
    RETURN NULL;
END $$;
"""
TRIGGER = """
CREATE TRIGGER kehu_{short}_logged_{name} AFTER {event} ON {table}
    REFERENCING {transition} FOR EACH STATEMENT EXECUTE FUNCTION kehu_{short}_logged();
"""
TRIGGERS = "".join(
    FUNCTION.format(short=short, old=rows.format(rows="old_rows"), new=rows.format(rows="new_rows"))
    + "".join(
        TRIGGER.format(
            short=short, name=event.lower(), event=event, table=table, transition=transition
        )
        for event, transition in (
            ("INSERT", "NEW TABLE AS new_rows"),
            ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
            ("DELETE", "OLD TABLE AS old_rows"),
        )
    )
    for table, short, rows in LOGGED
)

DROP_TRIGGERS = "".join(
    f"DROP FUNCTION kehu_{short}_logged() CASCADE;\n" for __, short, __ in LOGGED
)


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0016_metrics_fillfactor"),
        ("sales", "0006_sales_days"),
        ("interactions", "0003_ticket_sla_hours"),
    ]

    operations = [
        migrations.CreateModel(
            name="MetricsChange",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("customer_id", models.BigIntegerField(verbose_name="customer")),
                (
                    "ordered_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="ordered at"),
                ),
            ],
            options={
                "verbose_name": "metrics change",
                "verbose_name_plural": "metrics changes",
            },
        ),
        migrations.AddField(
            model_name="customermetrics",
            name="first_contact_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="first contact"),
        ),
        migrations.AddField(
            model_name="customermetrics",
            name="interactions_before",
            field=models.PositiveIntegerField(
                db_default=0,
                default=0,
                verbose_name="interactions in the year before the last 90 days",
            ),
        ),
        migrations.AddField(
            model_name="metricsrun",
            name="figures_version",
            field=models.PositiveSmallIntegerField(default=0, verbose_name="figures version"),
        ),
        migrations.AddField(
            model_name="metricsrun",
            name="full",
            field=models.BooleanField(default=True, verbose_name="all figures read again"),
        ),
        migrations.AddField(
            model_name="metricsrun",
            name="recomputed",
            field=models.PositiveIntegerField(default=0, verbose_name="customers read again"),
        ),
        migrations.RunSQL(TRIGGERS, DROP_TRIGGERS),
    ]
