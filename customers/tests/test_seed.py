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
