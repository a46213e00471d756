"""The audit log page as an auditor reads it: field labels, the
names of linked records, choices by their labels, the conflict check's masked
query, date pickers; a fixed number of queries for a page."""

from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse

from customers.conflict import conflict_check
from customers.services.contacts import collaborator_add
from customers.services.records import customer_update

pytestmark = pytest.mark.django_db

AUDIT = reverse("audit_list")


def _rows(response) -> list[str]:
    """Each event's row as text, newest first."""
    body = response.content.decode()
    table = body[body.index('id="audit-events"') :]
    table = table[table.index("<tbody>") : table.index("</tbody>")]
    return [
        " ".join(html.unescape(re.sub(r"<[^>]+>", "", re.sub(r"</(td|div)>", " ", row))).split())
        for row in re.findall(r"<tr>(.*?)</tr>", table, flags=re.S)
    ]


def _one(rows: list[str], word: str) -> str:
    found = [row for row in rows if word in row]
    assert len(found) == 1, (word, rows)
    (row,) = found
    return row


def test_the_log_names_fields_records_and_choices_in_the_readers_language(
    client, auditor, rep, other_rep, own_customer, colleague_customer
):
    customer_update(
        actor=rep,
        customer_id=own_customer.pk,
        data={"gender": "male", "source": "referral"},
        version=own_customer.version,
    )
    collaborator_add(actor=rep, customer_id=own_customer.pk, user=other_rep)
    conflict_check(actor=rep, query="137 0000 1111")
    client.force_login(auditor)

    rows = _rows(client.get(AUDIT))
    check, collaborator, update = (_one(rows, word) for word in ("查冲突", "协作人", "性别"))

    assert "查冲突" in check and "搜索内容: 137****1111" in check
    assert "13700001111" not in check
    assert f"同事名下: {colleague_customer.name}" in check  # a name, not an id
    assert f"协作人: {other_rep}" in collaborator
    assert "性别: ∅ → 男" in update  # the label and the choice, not gender: '' → male
    assert "来源渠道: 其他 → 转介绍" in update  # the channel's name, not its code

    auditor.language = "en"
    auditor.save(update_fields=["language"])
    english = _rows(client.get(AUDIT))
    assert "Searched for: 137****1111" in _one(english, "Conflict check")
    assert "source channel: Other → Referral" in _one(english, "gender")


def test_a_record_the_reader_may_not_see_stays_a_number(
    client, manager, rep, far_customer, colleague_customer
):
    """A manager reading the log (given the permission) sees the names of the team's
    customers, and only a number for another team's."""
    from django.contrib.auth.models import Permission

    manager.user_permissions.add(Permission.objects.get(codename="view_auditevent"))
    conflict_check(actor=rep, query="13600002222")
    client.force_login(manager)
    check = _one(_rows(client.get(AUDIT)), "查冲突")
    assert far_customer.name not in check
    assert f"#{far_customer.pk}" in check


def test_a_page_of_events_costs_a_fixed_number_of_queries(
    client, auditor, rep, own_customer, django_assert_max_num_queries
):
    for number in range(30):
        conflict_check(actor=rep, query=f"1370000{number:04d}")
        customer_update(
            actor=rep,
            customer_id=own_customer.pk,
            data={"title": f"经理{number}"},
            version=own_customer.version + number,
        )
    client.force_login(auditor)
    with django_assert_max_num_queries(16):
        response = client.get(AUDIT)
    assert len(_rows(response)) == 50


def test_the_date_filters_are_date_pickers(client, auditor):
    client.force_login(auditor)
    body = client.get(AUDIT).content.decode()
    for name in ("created_after", "created_before"):
        (tag,) = re.findall(rf'<input[^>]*name="{name}"[^>]*>', body)
        assert 'type="date"' in tag


def test_stored_codes_read_as_their_labels(client, auditor, rep, own_customer):
    from customers.models import ReleaseReason
    from customers.ownership import customers_release

    reason = ReleaseReason.objects.filter(is_active=True).first()
    customers_release(actor=rep, customer_ids=[own_customer.pk], release_reason=reason)
    client.force_login(auditor)
    row = _one(_rows(client.get(AUDIT)), "归属变更")
    assert "归属变更: 释放到公海" in row  # not 'release'
    assert f"负责人: {rep} (rep1) → ∅" in row
