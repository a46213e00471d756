"""Every customer classified at an as-of day (segmentation.scoring): metrics on
crafted histories against hand-computed values, quintile scores with ties, each
lifecycle rule, the model's scores, the bad inputs, and the command."""

from __future__ import annotations

import datetime
import io
import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone, translation

from customers.models import Customer, CustomerMetrics, StageChange
from interactions.models import Interaction
from kehu.tests.fixtures import days_ago
from sales.services.refunds import refund_create
from segmentation.models import MetricsRun, SegmentationRules
from segmentation.outlook import stage_reasons
from segmentation.runs import metrics_recompute
from segmentation.scoring import segments_refresh

pytestmark = pytest.mark.django_db


def as_of_day(days_back: int = 5) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=days_back)


@pytest.fixture
def buy(order_make, headphones):
    """buy(customer, days_ago, amount='100.00', hour=10): a paid order that day."""

    def make(customer, ago, amount="100.00", hour=10, **data):
        return order_make(
            customer, [(headphones, 1, amount, None)], ordered_at=days_ago(ago, hour), **data
        )

    return make


def contact(customer, user, ago: int) -> Interaction:
    return Interaction.objects.create(
        customer=customer, user=user, channel="phone", occurred_at=days_ago(ago), subject="回访"
    )


def metrics(customer) -> CustomerMetrics:
    return CustomerMetrics.objects.get(customer=customer)


def test_metrics_at_the_as_of_day_match_a_hand_computed_history(
    rep, manager, customer_make, buy, order_make, headphones
):
    customer = customer_make(rep, name="常客")
    # As of 5 days ago (A): purchases on A-65 (two orders, one day), A-55, A-35
    # (200 less a refund of 100); a pending order and one after the as-of day.
    buy(customer, 70, "100.00")
    buy(customer, 70, "50.00", hour=15)
    buy(customer, 60, "300.00")
    late = buy(customer, 40, "200.00")
    refund_create(actor=manager, order_id=late.pk, amount="100.00", reason="部分退货")
    buy(customer, 45, "80.00", status="pending")
    buy(customer, 2, "999.00")
    # Contacts: two in the last 90 days, six in the year before, one before that
    # (so the whole year counts), one after the as-of day.
    for ago in (15, 35, 105, 155, 205, 255, 305, 405, 505, 1):
        contact(customer, rep, ago)

    metrics_recompute(as_of_day())
    row = metrics(customer)
    assert (row.orders_count, row.purchase_days, row.purchase_days_12m) == (4, 3, 3)
    assert (row.total_spent, row.average_order_value) == (Decimal("550.00"), Decimal("137.50"))
    # Gaps of 10 and 20 days: median 15, mean 15.
    assert (row.purchase_interval_days, row.mean_interval_days) == (
        Decimal("15.0"),
        Decimal("15.0"),
    )
    assert row.days_since_purchase == 35
    assert row.next_purchase_on == as_of_day() - datetime.timedelta(days=20)
    assert (row.days_since_contact, row.interactions_90d) == (10, 2)
    assert row.usual_interactions_90d == Decimal("1.5")  # 6 in 365 days, per 90 days
    assert row.as_of == as_of_day()


def _spenders(customer_make, buy, rep, amounts):
    customers = []
    for position, amount in enumerate(amounts):
        customer = customer_make(rep, name=f"客户{position}")
        buy(customer, 10 + position, amount)
        customers.append(customer)
    return customers


def test_monetary_scores_split_in_fifths_and_ties_share_a_score(customer_make, buy, rep):
    untied = _spenders(customer_make, buy, rep, [f"{100 * n}.00" for n in range(1, 11)])
    metrics_recompute()
    assert [metrics(c).monetary_score for c in untied] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    # Bought one day each, ten different days: recency splits the same way, newest best.
    assert [metrics(c).recency_score for c in untied] == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    # Everybody bought once: frequency tells nobody apart, all in the middle.
    assert {metrics(c).frequency_score for c in untied} == {3}


def test_tied_values_take_the_score_of_the_middle_of_their_group(customer_make, buy, rep):
    tied = _spenders(customer_make, buy, rep, ["100.00", "100.00", "100.00", "200.00", "300.00"])
    metrics_recompute()
    # 100: (0 + 3/2) / 5 = 0.3 -> 2; 200: (3 + 1/2) / 5 = 0.7 -> 4; 300: 0.9 -> 5.
    assert [metrics(c).monetary_score for c in tied] == [2, 2, 2, 4, 5]


def test_rfm_segments_follow_the_documented_grid(customer_make, buy, rep):
    # Ten customers: the most recent bought most often, the oldest bought once.
    customers = []
    for n in range(10):
        customer = customer_make(rep, name=f"客户{n}")
        for extra in range(10 - n):
            buy(customer, 10 + 30 * n + extra, "100.00")
        customers.append(customer)
    metrics_recompute()
    rows = [metrics(c) for c in customers]
    assert [(r.recency_score, r.frequency_score) for r in rows] == [
        (5, 5), (5, 5), (4, 4), (4, 4), (3, 3), (3, 3), (2, 2), (2, 2), (1, 1), (1, 1)
    ]  # fmt: skip
    assert [r.rfm_segment for r in rows] == [
        "champions", "champions", "loyal", "loyal", "attention", "attention",
        "hibernating", "hibernating", "lost", "lost",
    ]  # fmt: skip


def test_the_lifecycle_follows_each_customers_own_rhythm(customer_make, buy, rep):
    def history(name, *agos):
        customer = customer_make(rep, name=name)
        for ago in agos:
            buy(customer, ago + 5)  # days before the as-of day
        return customer

    fast_late = history("十天一买，已二十天", 60, 50, 40, 30, 20)
    slow = history("百天一买，二十天前", 220, 120, 20)
    fast_gone = history("十天一买，已五十天", 80, 70, 60, 50)
    dropped = history("三十天一买，少联系", 90, 60, 31)
    kept = history("三十天一买，常联系", 90, 60, 31)
    for ago in (100, 140, 180, 220, 260, 300, 340, 380):
        contact(dropped, rep, ago + 5)  # 8 in 291 days: 2.5 per 90 days, none lately
        contact(kept, rep, ago + 5)
    contact(kept, rep, 20)
    contact(kept, rep, 40)
    once_late = history("只买过一次，六十天前", 60)
    once_recent = history("只买过一次，十天前", 10)
    never = customer_make(rep, name="从未购买")

    run = metrics_recompute(as_of_day())
    assert not run.bgnbd_ok  # eight customers: the interval rule alone decides
    # The repeat buyers' usual intervals: 10, 100, 10, 29.5, 29.5 -> 29.5 for one-time buyers.
    assert run.typical_interval_days == Decimal("29.5")
    stages = {row.customer.name: row.lifecycle for row in CustomerMetrics.objects.all()}
    stages[never.name] = Customer.objects.get(pk=never.pk).stage  # no orders, no metrics row
    assert stages == {
        fast_late.name: "at_risk",  # 20 days = 2 intervals > 1.5
        slow.name: "active",  # 20 days of 100
        fast_gone.name: "churned",  # 50 days = 5 intervals > 3, no model to say otherwise
        dropped.name: "at_risk",  # just past its interval and no contact against ~2 usually
        kept.name: "active",
        once_late.name: "at_risk",  # 60 / 29.5 = 2.0 intervals
        once_recent.name: "active",
        never.name: "lead",
    }
    rules, typical = SegmentationRules.current(), run.typical_interval_days
    with translation.override("en"):
        assert stage_reasons(metrics(dropped), rules, typical) == [
            "Usually buys every 30 days; last purchase 31 days ago.",
            "0 interactions in the last 90 days; usually 2.5.",  # 8 since the first, 291 days
            "No contact for 100 days.",
        ]
        assert stage_reasons(metrics(once_late), rules, typical) == [
            "Bought once, 60 days ago; customers usually buy again within 30 days.",
            "Never contacted.",
        ]
    # The customer's stage follows, and the history says the system moved it.
    assert Customer.objects.get(pk=fast_gone.pk).stage == "churned"
    change = StageChange.objects.filter(customer=fast_gone).latest("changed_at", "pk")
    assert (change.to_stage, change.actor) == ("churned", None)


def _run_with(**params) -> MetricsRun:
    return MetricsRun.objects.create(
        as_of=timezone.localdate(), status=MetricsRun.Status.DONE, bgnbd_ok=True,
        breakpoints={}, **params,
    )  # fmt: skip


def test_a_low_probability_of_being_alive_puts_a_customer_at_risk_on_time(customer_make, buy, rep):
    customer = customer_make(rep, name="按时购买")
    for ago in (30, 20, 10):
        buy(customer, ago)
    # A population that drops out after most purchases (a = 10, b = 1): after three
    # purchases, even on time, the model gives a small chance of still buying.
    _run_with(r=1.0, alpha=10.0, a=10.0, b=1.0)
    segments_refresh([customer.pk])
    row = metrics(customer)
    assert row.p_alive < Decimal("0.2")
    assert row.lifecycle == "at_risk"
    # A loyal population (a = 0.1, b = 10): the same customer is active.
    _run_with(r=1.0, alpha=10.0, a=0.1, b=10.0)
    segments_refresh([customer.pk])
    row = metrics(customer)
    assert row.p_alive > Decimal("0.9")
    assert row.expected_purchases_90d > 0 and row.expected_value_12m > 0
    assert row.lifecycle == "active"


def test_an_order_saved_refreshes_its_customer_at_once(customer_make, buy, rep):
    customer = customer_make(rep, name="新客户")
    others = _spenders(customer_make, buy, rep, ["100.00", "200.00", "300.00", "400.00"])
    metrics_recompute()
    assert Customer.objects.get(pk=customer.pk).stage == "lead"
    buy(customer, 1, "1000.00")
    row = metrics(customer)
    assert (row.lifecycle, row.monetary_score, row.value_tier) == ("active", 5, "high")
    assert Customer.objects.get(pk=customer.pk).stage == "active"
    assert metrics(others[0]).monetary_score == 1  # the others wait for the night


def test_a_recompute_run_twice_changes_nothing_the_second_time(customer_make, buy, rep):
    _spenders(customer_make, buy, rep, ["100.00", "200.00", "300.00"])
    first = metrics_recompute()
    second = metrics_recompute()
    assert first.changed > 0  # the scores and tiers wait for the first run
    assert (second.changed, second.stage_changes) == (0, 0)


def test_a_company_with_no_orders_gets_leads_and_not_enough_data(customer_make, rep):
    customer_make(rep, name="潜在客户", stage="active")
    run = metrics_recompute()
    assert (run.status, run.buyers, run.bgnbd_ok, run.gamma_gamma_ok) == ("done", 0, False, False)
    assert "not enough data" in run.parameters()
    assert set(Customer.objects.values_list("stage", flat=True)) == {"lead"}


def test_everyone_buying_on_the_same_day_scores_in_the_middle(customer_make, buy, rep):
    same = [customer_make(rep, name=f"客户{n}") for n in range(4)]
    for customer in same:
        buy(customer, 10, "100.00")
        buy(customer, 10, "100.00", hour=15)  # a second order the same day: no repeat
    run = metrics_recompute()
    assert not run.bgnbd_ok
    rows = [metrics(c) for c in same]
    assert {(r.recency_score, r.frequency_score, r.monetary_score) for r in rows} == {(3, 3, 3)}
    assert {(r.lifecycle, r.next_purchase_on, r.p_alive) for r in rows} == {("active", None, None)}


def test_free_and_refunded_orders_are_no_purchase(customer_make, buy, manager, rep):
    free = customer_make(rep, name="赠品客户")
    buy(free, 20, "0.00")
    refunded = customer_make(rep, name="全额退款")
    order = buy(refunded, 20, "300.00")
    refund_create(actor=manager, order_id=order.pk, amount="300.00", reason="退货")
    metrics_recompute()
    assert (metrics(free).purchase_days, metrics(free).lifecycle) == (0, "lead")
    assert (metrics(refunded).purchase_days, metrics(refunded).lifecycle) == (0, "lead")
    assert metrics(refunded).total_spent == Decimal("0.00")


def test_an_as_of_day_before_the_first_order_sees_leads(customer_make, buy, rep):
    customer = customer_make(rep, name="后来的客户")
    buy(customer, 10)
    run = metrics_recompute(timezone.localdate() - datetime.timedelta(days=400))
    row = metrics(customer)
    assert (run.buyers, row.purchase_days, row.days_since_purchase, row.lifecycle) == (
        0, 0, None, "lead"
    )  # fmt: skip
    assert row.recency_score is None and row.rfm_segment == ""
    # A day in the past recomputes the figures; today's stage stays.
    assert run.stage_changes == 0 and Customer.objects.get(pk=customer.pk).stage == "active"


def test_the_as_of_day_ends_at_local_midnight(customer_make, order_make, headphones, rep):
    customer = customer_make(rep, name="深夜下单")
    day = as_of_day()

    def at(moment_day, hour, minute):
        moment = datetime.datetime.combine(moment_day, datetime.time(hour, minute))
        return timezone.make_aware(moment)  # Asia/Shanghai

    order_make(customer, [(headphones, 1, "100.00", None)], ordered_at=at(day, 23, 30))
    order_make(
        customer, [(headphones, 1, "100.00", None)],
        ordered_at=at(day + datetime.timedelta(days=1), 0, 30),
    )  # fmt: skip
    metrics_recompute(day)
    row = metrics(customer)
    assert (row.orders_count, row.purchase_days, row.days_since_purchase) == (1, 1, 0)


def _population(count: int) -> None:
    """`count` customers buying as BG/NBD says (rates ~ Gamma(0.5, 30 days), drop
    out after a purchase with p ~ Beta(0.8, 3)) over up to a year, drawn with a
    fixed seed and bulk-written: the fit needs a crowd."""
    import numpy as np

    from sales.models import Order

    chance = np.random.default_rng(2005)
    customers = Customer.objects.bulk_create(
        Customer(number=f"T{n:05d}", name=f"客户{n}", kind="person") for n in range(count)
    )
    orders = []
    for customer in customers:
        age = int(chance.integers(60, 366))
        rate, drop = chance.gamma(0.5, 1 / 30), chance.beta(0.8, 3)
        moments, moment = [0.0], 0.0
        while chance.random() >= drop:
            moment += chance.exponential(1 / rate)
            if moment >= age:
                break
            moments.append(moment)
        orders += [
            Order(number=f"O{customer.pk}-{n}", customer=customer, status="paid",
                  ordered_at=days_ago(age - int(m)), total=Decimal(int(chance.integers(50, 501))))
            for n, m in enumerate(moments)
        ]  # fmt: skip
    Order.objects.bulk_create(orders)


def test_the_command_prints_the_fitted_parameters_in_days_on_its_last_line():
    _population(300)
    out = io.StringIO()
    call_command("recompute_metrics", "--as-of", timezone.localdate().isoformat(), stdout=out)
    last = out.getvalue().splitlines()[-1]
    assert re.fullmatch(r"r=\d+\.\d{4} alpha=\d+\.\d{4} a=\d+\.\d{4} b=\d+\.\d{4}", last), last
    run = MetricsRun.objects.get()
    assert (
        run.bgnbd_ok and last == f"r={run.r:.4f} alpha={run.alpha:.4f} a={run.a:.4f} b={run.b:.4f}"
    )
    assert out.getvalue().startswith("300 customers (300 buying)")
    assert CustomerMetrics.objects.filter(p_alive__isnull=False).exists()


def test_the_command_refuses_a_day_it_cannot_read():
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("recompute_metrics", "--as-of", "2026-13-01")


def test_a_failed_recompute_is_recorded_with_its_error(monkeypatch):
    from segmentation import runs

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(runs, "breakpoints", broken)
    with pytest.raises(RuntimeError):
        metrics_recompute()
    run = MetricsRun.objects.get()
    assert (run.status, run.error) == ("failed", "RuntimeError: disk full")


def test_rules_that_contradict_each_other_are_refused_field_by_field():
    rules = SegmentationRules(
        frequency_high=4, frequency_medium=4, value_high_share=60, value_medium_share=50,
        at_risk_factor=Decimal("3.0"), churned_factor=Decimal("2.0"),
        at_risk_p_alive=Decimal("0.30"), churned_p_alive=Decimal("0.40"),
    )  # fmt: skip
    with pytest.raises(ValidationError) as refused:
        rules.full_clean()
    assert set(refused.value.message_dict) == {
        "frequency_medium", "value_medium_share", "churned_factor", "churned_p_alive"
    }  # fmt: skip


def test_the_english_export_carries_the_segmentation_columns(
    admin_user, customer_make, buy, rep, tmp_path
):
    import openpyxl

    buyer = customer_make(rep, name="常客")
    for ago in (40, 30, 20):
        buy(buyer, ago, "100.00")
    customer_make(rep, name="从未购买")
    metrics_recompute()
    path = tmp_path / "all.xlsx"
    call_command("export_customers", str(path), "--lang", "en", stdout=io.StringIO())
    header, *rows = openpyxl.load_workbook(path).active.values
    names = (
        "Purchase days", "Days since last purchase", "R", "F", "M", "RFM segment",
        "Frequency tier", "Value tier", "P(alive)", "Expected purchases 90d",
        "Expected value 12m", "Next purchase",
    )  # fmt: skip
    at = header.index("Purchase days")
    assert header[at : at + len(names)] == names
    by_name = {row[1]: row[at : at + len(names)] for row in rows}
    days, since, r, f, m, segment, frequency, value, p_alive, __, __, upcoming = by_name["常客"]
    assert (days, since, frequency) == (3, 20, "Medium")
    assert (r, f, m, segment, value) == (3, 3, 3, "Need attention", "Medium")  # alone: the middle
    assert p_alive is None  # the model needs more customers than two
    assert upcoming.date() == timezone.localdate() - datetime.timedelta(days=10)
    assert by_name["从未购买"] == (
        0,
        None,
        None,
        None,
        None,
        None,
        "None",
        None,
        None,
        None,
        None,
        None,
    )


def _history(customer_make, buy, rep, name, *agos):
    customer = customer_make(rep, name=name)
    for ago in agos:
        buy(customer, ago)
    return customer


def test_the_customer_page_gives_the_stage_with_its_reasons_in_words(
    client, customer_make, buy, rep
):
    from django.urls import reverse

    late = _history(customer_make, buy, rep, "十天一买", 60, 50, 40, 30, 20)
    metrics_recompute()
    rep.language = "en"
    rep.save(update_fields=["language"])
    client.force_login(rep)
    page = client.get(reverse("customers:detail", args=[late.pk])).content.decode()
    assert "Usually buys every 10 days; last purchase 20 days ago." in page
    assert "No contact for" not in page and "Never contacted." in page
    assert 'data-testid="stage">At risk<' in page
    expected = timezone.localdate() - datetime.timedelta(days=10)
    assert f"{expected:%Y-%m-%d}" in page and "overdue by 10 days" in page


def test_the_list_finds_who_is_expected_to_buy_this_week_or_is_overdue(
    client, customer_make, buy, rep
):
    from django.urls import reverse

    due_today = _history(customer_make, buy, rep, "今天该买", 20, 10)
    next_week = _history(customer_make, buy, rep, "八天后", 12, 2)
    overdue = _history(customer_make, buy, rep, "过了三天", 23, 13)
    client.force_login(rep)

    def listed(**query) -> set[str]:
        page = client.get(reverse("customers:list"), query).content.decode()
        names = {due_today.name, next_week.name, overdue.name}
        return {name for name in names if name in page}

    assert listed(next_purchase="week") == {due_today.name}
    assert listed(next_purchase="30d") == {due_today.name, next_week.name}
    assert listed(next_purchase="overdue") == {overdue.name}


def test_admins_edit_the_thresholds_and_see_each_run_with_its_parameters(
    client, admin_user, customer_make, buy, rep
):
    from django.urls import reverse
    from django_celery_beat.models import PeriodicTask

    SegmentationRules.current()
    client.force_login(admin_user)
    url = reverse("admin:segmentation_segmentationrules_change", args=[1])
    data = {
        "frequency_high": "6", "frequency_medium": "2", "value_mode": "amount",
        "value_high_share": "20", "value_medium_share": "30", "value_high_amount": "500",
        "value_medium_amount": "1000", "default_interval_days": "90", "at_risk_factor": "1.5",
        "churned_factor": "3.0", "at_risk_p_alive": "0.50", "churned_p_alive": "0.20",
        "contact_drop_share": "50",
    }  # fmt: skip
    response = client.post(url, data)
    assert response.status_code == 200
    assert "value_medium_amount" in response.context["adminform"].form.errors
    data["value_medium_amount"] = "200"
    assert client.post(url, data).status_code == 302
    customer = customer_make(rep, name="大客户")
    buy(customer, 10, "600.00")
    metrics_recompute()
    assert metrics(customer).value_tier == "high"  # by amount now: 600 >= 500
    runs = client.get(reverse("admin:segmentation_metricsrun_changelist")).content.decode()
    assert "数据不足（客户太少）" in runs  # the reason, translated
    nightly = PeriodicTask.objects.get(name="customers.metrics_recompute")
    assert (nightly.crontab.hour, nightly.task) == ("2", "crm.job_run")


def test_a_valuable_regular_buyer_is_suggested_as_key_account_until_marked_one(
    customer_make, buy, rep
):
    from customers.services.records import customer_update

    _spenders(customer_make, buy, rep, ["100.00", "200.00", "300.00", "400.00"])
    regular = customer_make(rep, name="常客大户")
    for ago in (40, 25, 10):  # every 15 days, 3 purchase days in 12 months: medium
        buy(regular, ago, "5000.00")
    run = metrics_recompute()
    row = metrics(regular)
    assert (row.value_tier, row.frequency_tier, row.lifecycle) == ("high", "medium", "active")
    assert row.key_account_suggested
    assert CustomerMetrics.objects.filter(key_account_suggested=True).count() == 1
    # The run keeps the rules it applied and the seconds of each step.
    assert run.rules["frequency_high"] == 6 and run.rules["value_mode"] == "share"
    assert {"figures", "fit", "apply", "stages"} <= run.timings.keys()

    version = Customer.objects.get(pk=regular.pk).version
    customer_update(
        actor=rep, customer_id=regular.pk, data={"is_key_account": True}, version=version
    )
    assert not metrics(regular).key_account_suggested  # at once, not the next night
    assert metrics_recompute().changed == 0


def test_the_nightly_run_finds_a_last_contact_loaded_behind_its_back(
    customer_make, buy, rep, manager
):
    customer = customer_make(rep, name="导入客户")
    buy(customer, 10)
    contact(customer, rep, 5)  # written straight to the table: no save refreshed it
    metrics_recompute()
    row = metrics(customer)
    assert (row.last_contact_by_id, row.interactions_count) == (rep.pk, 1)
    assert row.first_salesperson_key == rep.pk
    Interaction.objects.create(
        customer=customer, user=manager, channel="wechat", occurred_at=days_ago(1), subject="补录"
    )
    assert metrics_recompute().changed == 1
    row = metrics(customer)
    assert (row.last_contact_by_id, row.last_contact_channel) == (manager.pk, "wechat")
    assert (row.interactions_count, row.days_since_contact) == (2, 1)
    assert row.first_salesperson_key == rep.pk  # kept: the same first purchase
