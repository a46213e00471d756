"""The shared pool pages: the pool list and its masking, claim, release,
lock, the days until recycle on the customer list and the *To be recycled* list."""

from __future__ import annotations

import datetime
import re

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from customers import ownership, pool_lock
from customers.models import Customer, OwnershipChange, OwnershipKind
from kehu.tests.fixtures import pool_rules as rules

pytestmark = pytest.mark.django_db

POOL = reverse("customers:pool")
CLAIM = reverse("customers:claim")
SOON = reverse("customers:recycle_soon")


def errors(client, response) -> list[str]:
    """The error messages the response left for the next page; that page is then
    shown, so the next request starts without them."""
    found = [m.message for m in get_messages(response.wsgi_request) if m.level_tag == "error"]
    client.get(response.url)
    return found


def numbers_on(page: str, *customers) -> list[str]:
    return [c.number for c in customers if c.number in page]


def owned_since(customer, days_ago: int) -> None:
    """Move the start of the owner's clock back (owner_since is not the guarded owner)."""
    since = timezone.now() - datetime.timedelta(days=days_ago)
    Customer.objects.filter(pk=customer.pk).update(owner_since=since)


def release(customer, actor, reason) -> None:
    ownership.customers_release(actor=actor, customer_ids=[customer.pk], release_reason=reason)


# --- the pool page ------------------------------------------------------------------


def test_the_pool_lists_only_pool_customers_with_contact_details_masked(
    client, rep, own_customer, pool_customer, colleague_customer
):
    client.force_login(rep)
    response = client.get(POOL)
    assert response.status_code == 200
    page = response.content.decode()
    assert numbers_on(page, own_customer, pool_customer, colleague_customer) == [
        pool_customer.number
    ]
    # Masked, never the full number or address, in any spelling.
    for full in ("13912345678", "139 1234 5678", "1234 5678", "wangfang@example.com"):
        assert full not in page
    assert "139****5678" in page and "w***@example.com" in page
    assert 'data-testid="pool-new"' in page  # never owned: "New"

    # Claimed, the customer is the rep's: its page shows the full number.
    response = client.post(CLAIM, {"ids": [pool_customer.pk]})
    assert response.status_code == 302 and response.url == pool_customer.get_absolute_url()
    detail = client.get(response.url).content.decode()
    assert "+86 139 1234 5678" in detail and "wangfang@example.com" in detail
    assert pool_customer.number not in client.get(POOL).content.decode()


def test_the_pool_page_says_how_each_customer_came_and_from_whom(
    client, rep, other_rep, customer_make, pool_customer, reason
):
    mine_before = customer_make(rep, name="旧客户")
    theirs_before = customer_make(other_rep, name="别人的旧客户")
    release(mine_before, rep, reason)
    release(theirs_before, other_rep, reason)
    client.force_login(rep)

    page = client.get(POOL).content.decode()
    row = page[page.index(f'data-customer="{mine_before.pk}"') :]
    row = row[: row.index("</tr>")]
    assert reason.name_zh in row and str(rep) in row and 'data-testid="pool-new"' not in row
    assert (reason.name_zh, reason.name_en) == ("无意向", "Not interested")  # seeded in both
    rep.language = "en"
    rep.save(update_fields=["language"])
    english = client.get(POOL).content.decode()
    assert "Not interested" in english and "无意向" not in english
    rep.language = "zh-hans"
    rep.save(update_fields=["language"])

    everyone = (mine_before, theirs_before, pool_customer)
    previous = client.get(POOL, {"previous": "me"}).content.decode()
    assert numbers_on(previous, *everyone) == [mine_before.number]
    new = client.get(POOL, {"kind": "new"}).content.decode()
    assert numbers_on(new, *everyone) == [pool_customer.number]
    released = client.get(POOL, {"kind": "release"}).content.decode()
    assert numbers_on(released, *everyone) == [mine_before.number, theirs_before.number]
    assert numbers_on(client.get(POOL, {"kind": "recycle"}).content.decode(), *everyone) == []
    # Newest in the pool first: the two releases of just now, then the older new one.
    Customer.objects.filter(pk=pool_customer.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=3)
    )
    order = numbers_on(client.get(POOL).content.decode(), *everyone)
    assert set(order[:2]) == {mine_before.number, theirs_before.number}
    assert order[2] == pool_customer.number
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    later = client.get(POOL, {"entered_since": tomorrow}).content.decode()
    assert numbers_on(later, *everyone) == []
    found = client.get(POOL, {"q": pool_customer.number}).content.decode()
    assert numbers_on(found, *everyone) == [pool_customer.number]


def test_the_pool_page_answers_htmx_with_its_results_only(client, rep, pool_customer):
    client.force_login(rep)
    response = client.get(POOL, {"kind": "new"}, headers={"HX-Request": "true"})
    assert b"<html" not in response.content and pool_customer.number.encode() in response.content


def test_the_pool_page_takes_the_same_queries_however_many_rows(
    client, rep, other_rep, customer_make, reason, django_assert_max_num_queries
):
    client.force_login(rep)
    customer_make(None, name="甲", phones="13800000001", emails="a@example.com")
    client.get(POOL)  # warm the per-session caches

    def queries() -> int:
        with CaptureQueriesContext(connection) as context:
            assert client.get(POOL).status_code == 200
        return len(context.captured_queries)

    few = queries()
    for index in range(25):
        customer_make(None, name=f"公海{index}", phones=f"1380000{index:04d}", emails="b@x.cn")
        held = customer_make(other_rep, name=f"退回{index}", phones=f"1370000{index:04d}")
        release(held, other_rep, reason)
    assert few == queries()
    with django_assert_max_num_queries(12):
        client.get(POOL)


# --- claim ----------------------------------------------------------------------------


def test_a_claim_moves_the_customer_and_writes_the_ledger(client, rep, pool_customer):
    client.force_login(rep)
    client.post(CLAIM, {"ids": [pool_customer.pk]})
    pool_customer.refresh_from_db()
    assert pool_customer.owner == rep and pool_customer.owner_since is not None
    change = OwnershipChange.objects.get(customer=pool_customer)
    assert (change.kind, change.from_user, change.to_user) == (OwnershipKind.CLAIM, None, rep)


def test_claiming_several_goes_back_to_the_pool_with_its_filters(client, rep, customer_make):
    first, second = customer_make(None, name="甲"), customer_make(None, name="乙")
    client.force_login(rep)
    response = client.post(CLAIM, {"ids": [first.pk, second.pk], "back": "kind=new&page=1"})
    assert response.status_code == 302 and response.url == f"{POOL}?kind=new&page=1"
    assert set(Customer.objects.filter(owner=rep).values_list("pk", flat=True)) == {
        first.pk,
        second.pk,
    }


def test_a_customer_another_rep_just_claimed_stays_theirs(client, rep, other_rep, pool_customer):
    ownership.customers_claim(actor=other_rep, customer_ids=[pool_customer.pk])
    client.force_login(rep)
    response = client.post(CLAIM, {"ids": [pool_customer.pk]})
    assert response.status_code == 302 and response.url == POOL
    assert errors(client, response)
    pool_customer.refresh_from_db()
    assert pool_customer.owner == other_rep
    assert OwnershipChange.objects.filter(customer=pool_customer).count() == 1


def test_a_claim_with_nothing_chosen_or_over_the_cap_changes_nothing(
    client, rep, own_customer, pool_customer
):
    client.force_login(rep)
    response = client.post(CLAIM, {})
    assert response.status_code == 302 and errors(client, response)
    rules(max_customers=1)
    response = client.post(CLAIM, {"ids": [pool_customer.pk], "back": "previous=me"})
    assert response.url == f"{POOL}?previous=me" and errors(client, response)
    pool_customer.refresh_from_db()
    assert pool_customer.owner is None


def test_the_360_page_of_a_pool_customer_offers_the_claim(client, rep, pool_customer):
    client.force_login(rep)
    page = client.get(pool_customer.get_absolute_url()).content.decode()
    assert 'id="claim-customer"' in page and 'data-testid="pool-entry"' in page
    assert 'id="release-form"' not in page and 'id="lock-form"' not in page
    assert "13912345678" not in page and "139 1234 5678" not in page


# --- release ----------------------------------------------------------------------------


def test_a_release_needs_a_reason(client, rep, own_customer, reason):
    client.force_login(rep)
    url = reverse("customers:release", args=[own_customer.pk])
    page = client.get(own_customer.get_absolute_url()).content.decode()
    assert 'id="release-form"' in page and 'id="claim-customer"' not in page

    response = client.post(url, {"release-note": "没兴趣"})
    assert response.status_code == 302 and response.url == own_customer.get_absolute_url()
    assert errors(client, response)
    own_customer.refresh_from_db()
    assert own_customer.owner == rep
    assert not OwnershipChange.objects.filter(kind=OwnershipKind.RELEASE).exists()

    response = client.post(url, {"release-release_reason": reason.pk, "release-note": "没兴趣"})
    assert response.status_code == 302 and not errors(client, response)
    own_customer.refresh_from_db()
    assert own_customer.owner is None
    entry = own_customer.pool_entry
    assert (entry.kind, entry.from_user, entry.release_reason) == ("release", rep, reason)
    page = client.get(own_customer.get_absolute_url()).content.decode()
    assert 'data-testid="pool-entry"' in page and "没兴趣" in page


def test_a_rep_cannot_release_or_lock_someone_elses_customer(
    client, rep, colleague_customer, reason
):
    client.force_login(rep)
    release_url = reverse("customers:release", args=[colleague_customer.pk])
    lock_url = reverse("customers:lock", args=[colleague_customer.pk])
    assert client.post(release_url, {"release-release_reason": reason.pk}).status_code == 404
    assert client.post(lock_url, {"locked": "1"}).status_code == 404
    colleague_customer.refresh_from_db()
    assert colleague_customer.owner is not None and colleague_customer.locked_at is None


def test_a_manager_releases_a_team_customer_but_not_a_pool_one(
    client, manager, own_customer, pool_customer, reason
):
    client.force_login(manager)
    data = {"release-release_reason": reason.pk}
    response = client.post(reverse("customers:release", args=[pool_customer.pk]), data)
    assert response.status_code == 302 and errors(client, response)
    response = client.post(reverse("customers:release", args=[own_customer.pk]), data)
    assert response.status_code == 302 and not errors(client, response)
    own_customer.refresh_from_db()
    assert own_customer.owner is None and own_customer.pool_entry.actor == manager


# --- lock -----------------------------------------------------------------------------------


def test_the_owner_locks_and_unlocks(client, rep, own_customer):
    client.force_login(rep)
    url = reverse("customers:lock", args=[own_customer.pk])
    assert client.post(url, {"locked": "1"}).status_code == 302
    own_customer.refresh_from_db()
    assert own_customer.locked_at is not None and own_customer.locked_by == rep
    page = client.get(own_customer.get_absolute_url()).content.decode()
    assert 'data-testid="locked"' in page and 'name="locked" value="0"' in page

    assert client.post(url, {"locked": "0"}).status_code == 302
    own_customer.refresh_from_db()
    assert own_customer.locked_at is None


def test_a_lock_over_the_limit_is_refused_with_a_message(client, rep, own_customer):
    rules(max_locked=0)
    client.force_login(rep)
    response = client.post(reverse("customers:lock", args=[own_customer.pk]), {"locked": "1"})
    assert response.status_code == 302 and errors(client, response)
    own_customer.refresh_from_db()
    assert own_customer.locked_at is None


# --- the recycle clocks on the pages -------------------------------------------------------


def _row(page: str, customer) -> str:
    start = page.index(customer.get_absolute_url())
    return page[start : page.index("</tr>", start)]


def test_the_customer_list_shows_the_days_until_recycle(
    client, rep, own_customer, customer_make, pool_customer
):
    rules(no_interaction_days=10)
    owned_since(own_customer, 3)
    locked = customer_make(rep, name="锁定客户")
    pool_lock.customer_lock(actor=rep, customer_id=locked.pk, locked=True)
    client.force_login(rep)
    page = client.get(reverse("customers:list")).content.decode()
    assert re.search(r'data-testid="recycle-in"><span [^>]*data-days="7"', _row(page, own_customer))
    assert "bi-lock-fill" in _row(page, locked)
    assert 'data-testid="recycle-in">—<' in _row(page, pool_customer)
    detail = client.get(own_customer.get_absolute_url()).content.decode()
    clock = detail[detail.index('data-testid="recycle-clock"') :]
    assert (timezone.localdate() + datetime.timedelta(days=7)).isoformat() in clock[:600]


def test_without_recycle_rules_the_list_shows_no_days(client, rep, own_customer):
    client.force_login(rep)  # the company default: both clocks off
    page = client.get(reverse("customers:list")).content.decode()
    assert 'data-testid="recycle-in">—<' in _row(page, own_customer)


def test_the_list_page_queries_stay_fixed_with_the_clocks(client, rep, customer_make):
    rules(no_interaction_days=10)
    client.force_login(rep)
    customer_make(rep, name="甲")
    client.get(reverse("customers:list"))

    def queries() -> int:
        with CaptureQueriesContext(connection) as context:
            client.get(reverse("customers:list"))
        return len(context.captured_queries)

    few = queries()
    for index in range(20):
        customer_make(rep, name=f"客户{index}")
    assert few == queries()


def test_to_be_recycled_lists_what_is_due_within_the_warning_days(
    client, rep, other_rep, manager, own_customer, customer_make
):
    rules(no_interaction_days=10, warn_days=3)
    owned_since(own_customer, 8)  # due in 2 days
    later = customer_make(rep, name="还早")
    owned_since(later, 1)  # due in 9 days
    theirs = customer_make(other_rep, name="同事的")
    owned_since(theirs, 9)  # due tomorrow

    client.force_login(rep)
    response = client.get(SOON)
    assert response.status_code == 200
    page = response.content.decode()
    assert numbers_on(page, own_customer, later, theirs) == [own_customer.number]
    row = _row(page, own_customer)
    assert (timezone.localdate() + datetime.timedelta(days=2)).isoformat() in row

    client.force_login(manager)  # the manager of the team sees the whole team's
    page = client.get(SOON).content.decode()
    assert page.index(theirs.number) < page.index(own_customer.number)  # soonest first
    assert later.number not in page


def test_the_pages_link_to_each_other(client, rep):
    client.force_login(rep)
    assert SOON in client.get(POOL).content.decode()
    assert SOON in client.get(reverse("customers:list")).content.decode()
    assert POOL in client.get(SOON).content.decode()
