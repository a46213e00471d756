"""Half of each page of customers_customermetrics left free, so the nightly
recompute, which rewrites most rows (the scores and the days since move every
day) but rarely an indexed column, updates them in place (HOT: no index entry
written) instead of moving every row and touching its seven indexes.

Rows already there only get the space when the table is rewritten, which this
migration does with VACUUM FULL (outside a transaction; it holds the table for
the time of one copy, about a minute at a million customers)."""

from django.db import migrations


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("customers", "0015_run_rules_timings")]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE customers_customermetrics SET (fillfactor = 50)",
            "ALTER TABLE customers_customermetrics RESET (fillfactor)",
        ),
        migrations.RunSQL("VACUUM FULL customers_customermetrics", migrations.RunSQL.noop),
    ]
