"""Customers made through the service, as the pages make them."""

from __future__ import annotations

import pytest

from customers.models import PoolRule, ReleaseReason
from customers.services import customer_create


@pytest.fixture
def customer_make(db, steward):
    """customer_make(owner, **data): a customer owned by `owner` (None: the pool)."""

    def make(owner=None, **data):
        data.setdefault("name", "张三")
        data.setdefault("kind", "person")
        return customer_create(actor=steward, data={"owner": owner, **data})

    return make


@pytest.fixture
def own_customer(customer_make, rep):
    return customer_make(rep, name="张三", phones="138 0013 8000", emails="zhangsan@example.com")


@pytest.fixture
def pool_customer(customer_make):
    return customer_make(None, name="王芳", phones="13912345678", emails="wangfang@example.com")


@pytest.fixture
def colleague_customer(customer_make, other_rep):
    """Owned by another rep of the same team."""
    return customer_make(other_rep, name="李雷", phones="13700001111")


@pytest.fixture
def far_customer(customer_make, far_rep):
    """Owned by a rep of another team."""
    return customer_make(far_rep, name="赵六", phones="13600002222")


def edit_form_data(customer, **changes) -> dict:
    """What the edit page posts when the user changes `changes` and nothing else."""
    from customers.forms import CustomerForm

    customer.refresh_from_db()
    initial = CustomerForm.initial_for(customer)
    data = {**initial, **changes}
    return {
        name: "" if value is None else value
        for name, value in data.items()
        if value is not False  # an unticked checkbox is not posted
    }


def pool_rules(**values) -> PoolRule:
    """Change the company default pool rule (customers.ownership)."""
    rule = PoolRule.objects.get(team=None, key_account=None)
    for name, value in values.items():
        setattr(rule, name, value)
    rule.save()
    return rule


@pytest.fixture
def reason(db) -> ReleaseReason:
    """A release reason from the list a new site starts with."""
    return ReleaseReason.objects.filter(is_active=True).first()


def owner_backdate(customer, owner) -> None:
    """Test data only: make `owner` the customer's owner as if they had held it all
    along (someone who has left since), past the database's guard on the column
    that customers.ownership alone opens."""
    from django.db import connection, transaction

    from customers.models import Customer

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('kehu.ownership', 'on', true)")
        Customer.objects.filter(pk=customer.pk).update(owner=owner)
        cursor.execute("SELECT set_config('kehu.ownership', '', true)")
