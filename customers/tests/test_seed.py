"""Demo customers: realistic, valid, split among the reps and the pool."""

from __future__ import annotations

import io

import phonenumbers
from django.core.management import call_command

from crm.models import User
from customers.models import Customer, CustomerPhone
from customers.selectors import customer_search


def test_seed_demo_makes_valid_searchable_customers(db):
    call_command("seed_demo", customers=400, force=True, stdout=io.StringIO())
    customers = Customer.objects.all()
    assert customers.count() == 400
    owners = set(customers.values_list("owner__username", flat=True))
    assert owners == {"rep1", "rep2", "manager", None}
    assert customers.filter(owner__isnull=True).count() > 50  # the shared pool
    assert customers.exclude(province="").count() == 400
    # Every channel of the seeded list turns up, not the default alone.
    assert customers.values("source").distinct().count() >= 8
    for phone in CustomerPhone.objects.all()[:200]:
        assert phonenumbers.is_valid_number(phonenumbers.parse(phone.number))
    # The generated rows are found like any other: by phone, and by pinyin.
    rep = User.objects.get(username="rep1")
    mine = customers.filter(owner=rep, kind="person").first()
    number = mine.phones.first().number
    assert mine in customer_search(user=rep, query=number[3:])
    assert mine in customer_search(user=rep, query=mine.name_pinyin[:20])
    assert customers.filter(name_pinyin="").count() == 0


def test_the_demo_tells_one_story_in_plain_names_and_plain_words(db):
    """No doubled name parts (黄小红小红, 凌颖信息信息有限公司), no order stamped
    later than now, the nightly jobs already run (the churn page has the alerts the
    dashboard counts), and the output tells counts, not the model's parameters."""
    import re

    from django.utils import timezone

    from crm.models import JobRun
    from customers.models import Stage
    from sales.models import Order
    from segmentation.models import ChurnEpisode

    out = io.StringIO()
    call_command("seed_demo", customers=400, force=True, stdout=out)
    doubled = re.compile(r"(\w{2,})\1")
    names = Customer.objects.values_list("name", "company")
    assert not [pair for pair in names if any(doubled.search(part) for part in pair)]
    now = timezone.now()
    assert not Order.objects.filter(ordered_at__gt=now).exists()
    assert not Order.objects.filter(paid_at__gt=now).exists()
    ran = set(JobRun.objects.values_list("job", flat=True))
    assert {"churn_alerts", "pool_recycle", "freshness_audit", "reminders"} <= ran
    at_risk = Customer.objects.filter(stage=Stage.AT_RISK, owner__isnull=False).count()
    assert at_risk == 0 or ChurnEpisode.objects.filter(ended_at__isnull=True).exists()
    said = out.getvalue()
    assert "Nightly jobs run once" in said and "alpha=" not in said
