"""Finding a customer from the top bar or the list's search box."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse

from customers.models import Customer
from customers.seed import customers_generate
from customers.selectors import customer_search, customers_matching, visible_customers


@pytest.fixture
def people(customer_make, rep):
    return {
        "zhangsan": customer_make(rep, name="张三", phones="13800138000", emails="ZS@Example.com"),
        "wangfang": customer_make(rep, name="王芳", company="华为技术有限公司"),
        "wangwei": customer_make(rep, name="王伟", phones="021-6234 5678"),
        "shan": customer_make(rep, name="单田芳"),
        "acme": customer_make(rep, name="Acme Trading", kind="company"),
    }


def _found(user, query) -> list[str]:
    return [customer.name for customer in customer_search(user=user, query=query)]


@pytest.mark.parametrize(
    "query",
    [
        "13800138000",
        "138 0013 8000",
        "138-0013-8000",
        "+86 138 0013 8000",
        "(+86)13800138000",
        "0086 13800138000",
        "８６－１３８００１３８０００",  # full-width, as typed with a Chinese IME
    ],
)
def test_an_exact_phone_in_any_format_finds_the_customer(rep, people, query):
    assert _found(rep, query) == ["张三"]


def test_a_landline_with_its_area_code(rep, people):
    assert _found(rep, "(021) 62345678") == ["王伟"]


@pytest.mark.parametrize("query", ["zs@example.com", " ZS@EXAMPLE.COM "])
def test_an_exact_email_finds_the_customer(rep, people, query):
    assert _found(rep, query) == ["张三"]


def test_part_of_a_phone_finds_nothing(rep, people):
    # Phones are encrypted: only the whole number is searchable, by design.
    assert _found(rep, "0013") == []


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("王", ["王伟", "王芳"]),
        ("王芳", ["王芳"]),
        ("芳", ["单田芳", "王芳"]),
        ("田芳", ["单田芳"]),
        ("华为", ["王芳"]),  # by company
        ("技术有限", ["王芳"]),
        ("zhangsan", ["张三"]),
        ("zs", ["张三"]),
        ("wang", ["王伟", "王芳"]),
        ("shantian", ["单田芳"]),  # 单 as a surname is shan
        ("acme", ["Acme Trading"]),
        ("trad", ["Acme Trading"]),
    ],
)
def test_names_by_characters_substring_or_pinyin(rep, people, query, names):
    assert sorted(_found(rep, query)) == sorted(names)


def test_exact_and_prefix_matches_come_first(rep, customer_make, people):
    customer_make(rep, name="老王")
    assert _found(rep, "王")[-1] == "老王"


def test_the_customer_number_finds_it(rep, people):
    number = people["shan"].number
    assert _found(rep, number.lower()) == ["单田芳"]


def test_an_empty_or_punctuation_only_query_finds_nothing(rep, people):
    assert _found(rep, "  ") == [] and _found(rep, "%_") == []


def test_the_list_search_box_uses_the_same_rules(client, rep, people):
    client.force_login(rep)
    response = client.get(reverse("customers:list"), {"q": "138 0013 8000"})
    assert [c.name for c in response.context["object_list"]] == ["张三"]


def test_search_results_link_to_the_customer_page(client, rep, people):
    client.force_login(rep)
    page = client.get(reverse("search"), {"q": "zs"}).content.decode()
    assert people["zhangsan"].get_absolute_url() in page


@pytest.fixture
def crowd(rep, steward):
    """A few thousand demo customers with fresh planner statistics."""
    customers_generate(3000, owners=[rep], team_of={rep.pk: rep.team_id}, seed=3)
    with connection.cursor() as cursor:
        # As autovacuum would: move the GIN's pending entries into the index proper.
        cursor.execute("SELECT gin_clean_pending_list('customers_search_grams_gin')")
        cursor.execute("ANALYZE customers_customer")


@pytest.mark.parametrize("query", ["龘", "龘䶮"])
def test_one_and_two_character_searches_use_the_ngram_index(rep, customer_make, crowd, query):
    """A trigram index cannot serve one or two characters; the n-gram array can,
    and the planner chooses it on its own (bench/ shows the same at a million)."""
    customer_make(rep, name="龘䶮")
    qs = customers_matching(visible_customers(rep), query).order_by()[:60]
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Bitmap Index Scan on customers_search_grams_gin" in plan, plan
    assert [c.name for c in customer_search(user=rep, query=query)] == ["龘䶮"]


def test_name_search_matches_substrings_not_just_grams(rep, people):
    # Every gram of 王伟芳 is in some name, but no name holds the three together.
    assert not customers_matching(Customer.objects.all(), "王伟芳").exists()
