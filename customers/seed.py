"""Demo customers for `seed_demo --customers N`: realistic Chinese and English
names, valid mobile numbers, real provinces and cities, split among the reps and
the shared pool. Written in bulk (about 100,000 customers in under a minute);
the same generator fills the benchmark database (bench/)."""

from __future__ import annotations

import datetime
import functools
import itertools
import random
import re

from django.db import transaction
from django.utils import timezone
from faker import Faker
from faker.providers.person.en_US import Provider as EnPerson
from faker.providers.person.zh_CN import Provider as ZhPerson

from crm.bulkcopy import copy_insert
from crm.fields import blind_index
from customers.address import division_tree
from customers.models import (
    Contact,
    Customer,
    CustomerEmail,
    CustomerKind,
    CustomerPhone,
    Gender,
    Industry,
    PoolRule,
    Source,
    Stage,
    StageChange,
    Tag,
    TagColour,
)
from customers.ownership import new_customer_columns
from customers.quality import quality_refresh
from customers.services.records import customer_numbers_next
from customers.standardise import name_pinyin, search_grams

BATCH = 5000
# Mobile prefixes of the three carriers that phonenumbers knows as valid.
MOBILE_PREFIXES = (
    "130",
    "131",
    "132",
    "133",
    "134",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "153",
    "155",
    "156",
    "157",
    "158",
    "159",
    "166",
    "173",
    "177",
    "180",
    "181",
    "182",
    "183",
    "185",
    "186",
    "187",
    "188",
    "189",
    "198",
    "199",
)
DEMO_TAGS = (
    ("VIP", TagColour.ORANGE),
    ("老客户", TagColour.GREEN),
    ("价格敏感", TagColour.RED),
    ("展会获客", TagColour.BLUE),
    ("待回访", TagColour.CYAN),
    ("转介绍", TagColour.GREEN),
    ("大客户", TagColour.ORANGE),
    ("Online", TagColour.GREY),
)
CATEGORIES = ("家电", "办公用品", "数码", "家具", "服装", "食品", "软件服务", "工业配件")
BRANDS = ("海尔", "美的", "华为", "小米", "联想", "格力", "Apple", "Siemens")
COLOURS = ("黑色", "白色", "银色", "蓝色", "红色", "灰色")
NEEDS = (
    "希望年底前完成采购，关注售后响应速度。",
    "需要批量报价，价格敏感。",
    "计划更换现有供应商，想先试用。",
    "Looking for an annual service contract.",
    "",
)
CONTACT_TITLES = ("采购经理", "总经理", "财务", "IT 主管")
EMAIL_DOMAINS = ("qq.com", "163.com", "126.com", "example.com", "sina.com")
INDUSTRIES = tuple(Industry.values[1:])
SOURCES = tuple(Source.values)
STAGES = tuple(Stage.values)


def random_mobile(rng: random.Random) -> str:
    return f"+86{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**8):08d}"


def _regions() -> list[tuple[str, str, list[str]]]:
    return [
        (province, city, districts)
        for province, cities in division_tree().items()
        for city, districts in cities.items()
    ]


class _Pools:
    """Faker is slow per call; draw from pools made once, so 100,000 rows stay fast."""

    def __init__(self, rng: random.Random, seed: int):
        fake_zh, fake_en = Faker("zh_CN"), Faker("en_US")
        fake_zh.seed_instance(seed)
        fake_en.seed_instance(seed + 1)
        self.rng = rng
        self.surnames = list(ZhPerson.last_names)
        self.surname_weights = list(itertools.accumulate(ZhPerson.last_names.values()))
        self.given = {
            Gender.FEMALE: list(ZhPerson.first_names_female),
            Gender.MALE: list(ZhPerson.first_names_male),
        }
        self.given[Gender.UNKNOWN] = self.given[Gender.FEMALE] + self.given[Gender.MALE]
        self.single = {
            gender: [name for name in names if len(name) == 1]
            for gender, names in self.given.items()
        }
        self.en_given = {
            Gender.FEMALE: list(EnPerson.first_names_female),
            Gender.MALE: list(EnPerson.first_names_male),
        }
        self.en_given[Gender.UNKNOWN] = self.en_given[Gender.FEMALE] + self.en_given[Gender.MALE]
        self.en_surnames = list(EnPerson.last_names)
        # Faker joins a prefix ending in 信息 to the suffix 信息有限公司: 凌颖信息信息有限公司.
        self.zh_companies = list(
            {re.sub(r"(\w{2,4})\1", r"\1", fake_zh.company()) for _ in range(3000)}
        )
        self.en_companies = list({fake_en.company() for _ in range(600)})
        self.zh_jobs = list({fake_zh.job()[:100] for _ in range(400)})
        self.en_jobs = list({fake_en.job()[:100] for _ in range(200)})
        self.streets = list({fake_zh.street_address() for _ in range(3000)})
        self.contact_names = [self.person_name(True, Gender.UNKNOWN) for _ in range(3000)]

    def person_name(self, chinese: bool, gender: str) -> str:
        rng = self.rng
        if not chinese:
            return f"{rng.choice(self.en_given[gender])} {rng.choice(self.en_surnames)}"
        surname = rng.choices(self.surnames, cum_weights=self.surname_weights)[0]
        given = rng.choice(self.given[gender])
        if len(given) == 1 and rng.random() < 0.55:
            # Two single characters make a given name; Faker's two-character names
            # (小红) stay whole, or the demo shows 黄小红小红.
            given += rng.choice([name for name in self.single[gender] if name != given])
        return surname + given


def customers_generate(
    count: int,
    *,
    owners: list,
    team_of: dict,
    seed: int,
    now: datetime.datetime | None = None,
    pool_share: float = 0.3,
    batch: int = BATCH,
) -> int:
    """Insert `count` demo customers with phones, e-mails, contacts and tags.

    `owners` are users; `team_of` maps an owner's id to their team's id.
    """
    if count <= 0:
        return 0
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    pools = _Pools(rng, seed)
    now = now or timezone.now()
    regions = _regions()
    tags = []
    for name, colour in DEMO_TAGS:
        tag, _created = Tag.objects.get_or_create(name=name, defaults={"colour": colour})
        tags.append(tag)
    made = 0
    while made < count:
        size = min(batch, count - made)
        with transaction.atomic():
            _batch(size, rng, pools, regions, tags, owners, team_of, now, pool_share)
        made += size
    return made


@functools.lru_cache(maxsize=200_000)
def _derived(name: str, kind: str, company: str) -> tuple[str, str, list[str]]:
    pinyin, initials = name_pinyin(name, kind=kind)
    return pinyin, initials, search_grams(name, company)


def _customer_row(rng, pools, regions, owners, team_of, now, pool_share) -> dict:
    chinese = rng.random() < 0.85
    company_kind = rng.random() < 0.3
    owner = None if rng.random() < pool_share or not owners else rng.choice(owners)
    created = now - datetime.timedelta(days=rng.randrange(0, 1100), minutes=rng.randrange(1440))
    province, city, districts = rng.choice(regions)
    company = rng.choice(pools.zh_companies if chinese else pools.en_companies)
    gender = "" if company_kind else rng.choice((Gender.FEMALE, Gender.MALE, Gender.UNKNOWN))
    name = company if company_kind else pools.person_name(chinese, gender)
    if company_kind or rng.random() < 0.4:
        company = ""
    kind = CustomerKind.COMPANY if company_kind else CustomerKind.PERSON
    pinyin, initials, grams = _derived(name[:100], kind, company)
    verified = None
    if rng.random() < 0.5:
        verified = min(now, created + datetime.timedelta(days=rng.randrange(0, 300)))
    consent = rng.random() < 0.4
    birth = None
    if not company_kind and rng.random() < 0.7:
        birth = now.date() - datetime.timedelta(days=rng.randrange(20 * 365, 75 * 365))
    return {
        "kind": kind,
        "name": name[:100],
        "name_pinyin": pinyin,
        "name_initials": initials,
        "search_grams": grams,
        "gender": gender,
        "birth_date": birth,
        "company": company,
        "title": "" if company_kind else rng.choice(pools.zh_jobs if chinese else pools.en_jobs),
        "industry": rng.choice(INDUSTRIES),
        "source_id": rng.choice(SOURCES),
        # Taken over some time in the last two months (the recycle clocks start there).
        **new_customer_columns(
            owner,
            max(created, now - datetime.timedelta(days=rng.randrange(0, 60))),
            team_id=team_of.get(owner.pk) if owner else None,
        ),
        "is_key_account": rng.random() < 0.08,
        "preferred_categories": rng.sample(CATEGORIES, rng.randrange(0, 3)),
        "preferred_brands": rng.sample(BRANDS, rng.randrange(0, 2)),
        "preferred_colours": rng.sample(COLOURS, rng.randrange(0, 2)),
        "needs": rng.choice(NEEDS),
        "stage": rng.choices(STAGES, weights=(25, 55, 12, 8))[0],
        "stage_changed_at": created,
        "province": province,
        "city": city,
        "district": rng.choice(districts) if districts else "",
        "street": rng.choice(pools.streets) if rng.random() < 0.7 else "",
        "postcode": f"{rng.randrange(100000, 860000):06d}" if rng.random() < 0.5 else "",
        "marketing_consent": consent,
        "consent_at": created if consent else None,
        "consent_source": "web_form" if consent else "",
        "verified_at": verified,
        "created_at": created,
        "updated_at": created,
    }


def _phone_row(rng, customer_id: int, *, contact_id: int | None = None, position: int = 0):
    phone = random_mobile(rng)
    return {
        "customer_id": customer_id,
        "contact_id": contact_id,
        "number": phone,
        "number_index": blind_index(phone),
        "position": position,
    }


def _batch(size, rng, pools, regions, tags, owners, team_of, now, pool_share):
    customers = []
    for number in customer_numbers_next(size):
        row = _customer_row(rng, pools, regions, owners, team_of, now, pool_share)
        row["number"] = number
        customers.append(row)
    copy_insert(Customer, customers)  # gives each row its id

    phones, emails, stages, contacts, links = [], [], [], [], []
    for customer in customers:
        for position in range(rng.choice((1, 1, 1, 2))):
            phones.append(_phone_row(rng, customer["id"], position=position))
        if rng.random() < 0.5:
            local = customer["name_pinyin"].replace(" ", "") or "kehu"
            domain = rng.choice(EMAIL_DOMAINS)
            email = f"{local[:30]}{rng.randrange(100, 9999)}@{domain}"
            emails.append(
                {
                    "customer_id": customer["id"],
                    "address": email,
                    "address_index": blind_index(email),
                }
            )
        stages.append(
            {
                "customer_id": customer["id"],
                "from_stage": "",
                "to_stage": customer["stage"],
                "changed_at": customer["stage_changed_at"],
                "actor_id": customer["owner_id"],
            }
        )
        if customer["kind"] == CustomerKind.COMPANY:
            contacts.append(
                {
                    "customer_id": customer["id"],
                    "name": rng.choice(pools.contact_names),
                    "title": rng.choice(CONTACT_TITLES),
                    "is_primary": True,
                }
            )
        for tag in rng.sample(tags, rng.choice((0, 0, 1, 1, 2))):
            links.append({"customer_id": customer["id"], "tag_id": tag.pk})
    copy_insert(Contact, contacts)  # gives each contact its id
    for contact in contacts:
        phones.append(_phone_row(rng, contact["customer_id"], contact_id=contact["id"]))
    copy_insert(CustomerPhone, phones, ids=False)
    copy_insert(CustomerEmail, emails, ids=False)
    copy_insert(StageChange, stages, ids=False)
    copy_insert(Customer.tags.through, links, ids=False)
    quality_refresh([customer["id"] for customer in customers])


def seed(*, context, stdout) -> None:
    """The `seed_demo` hook: customers split among the demo reps, the manager and the pool."""
    if context.customers <= 0:
        return
    owners = [context.users[name] for name in ("rep1", "rep2", "manager") if name in context.users]
    team_of = {user.pk: user.team_id for user in owners}
    started = timezone.now()
    made = customers_generate(context.customers, owners=owners, team_of=team_of, seed=context.seed)
    seconds = (timezone.now() - started).total_seconds()
    stdout.write(f"{made} demo customers in {seconds:.1f} s.")
    # The demo recycles: 30 days without an interaction, 90 without an order.
    PoolRule.objects.filter(team=None, key_account=None).update(
        no_interaction_days=30, no_order_days=90
    )
