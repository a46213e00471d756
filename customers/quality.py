"""The data-quality score (0–100): how complete and valid a customer's key fields are.

One table of rules holds both forms of each rule, the SQL condition that scores
every customer in one statement (migrations, imports, seeding) and the Python
test that names what is missing on the customer's page, so the two never drift.
Phones and e-mails are valid by construction (standardised on the way in), so
having one is enough; a name must look like a name, not a placeholder.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import connection
from django.utils.translation import gettext_lazy as _

PLACEHOLDER_NAMES = ("测试", "test", "未知", "unknown", "无", "xxx", "客户", "先生", "女士", "na")


@dataclass(frozen=True)
class Rule:
    label: object
    weight: int
    sql: str
    check: Callable[[object, int, int], bool]  # (customer, phones, emails) → ok


def _name_ok(customer) -> bool:
    name = customer.name.strip()
    return (
        len(name) >= 2
        and not name.replace(" ", "").isdigit()
        and name.casefold() not in PLACEHOLDER_NAMES
    )


_PLACEHOLDERS_SQL = ", ".join(f"'{name}'" for name in PLACEHOLDER_NAMES)
RULES: tuple[Rule, ...] = (
    Rule(
        _("a real name"),
        15,
        "char_length(btrim(c.name)) >= 2 AND replace(c.name, ' ', '') !~ '^[0-9]+$' "
        f"AND lower(btrim(c.name)) NOT IN ({_PLACEHOLDERS_SQL})",
        lambda c, p, e: _name_ok(c),
    ),
    Rule(
        _("a phone"),
        25,
        "EXISTS (SELECT 1 FROM customers_customerphone p WHERE p.customer_id = c.id)",
        lambda c, p, e: p > 0,
    ),
    Rule(
        _("an e-mail"),
        10,
        "EXISTS (SELECT 1 FROM customers_customeremail m WHERE m.customer_id = c.id)",
        lambda c, p, e: e > 0,
    ),
    Rule(
        _("province and city"),
        10,
        "c.province <> '' AND c.city <> ''",
        lambda c, p, e: bool(c.province and c.city),
    ),
    Rule(_("district"), 5, "c.district <> ''", lambda c, p, e: bool(c.district)),
    Rule(_("street address"), 5, "c.street <> ''", lambda c, p, e: bool(c.street)),
    Rule(
        _("gender (people) or credit code (companies)"),
        10,
        "CASE WHEN c.kind = 'company' THEN c.uscc <> '' ELSE c.gender <> '' END",
        lambda c, p, e: bool(c.uscc if c.kind == "company" else c.gender),
    ),
    Rule(
        _("birth date (people) or industry (companies)"),
        10,
        "CASE WHEN c.kind = 'company' THEN c.industry <> '' ELSE c.birth_date IS NOT NULL END",
        lambda c, p, e: bool(c.industry if c.kind == "company" else c.birth_date),
    ),
    Rule(
        _("a known source channel"),
        5,
        "c.source NOT IN ('other', '')",
        lambda c, p, e: c.source_id not in ("other", ""),
    ),
    Rule(
        _("company or job title (people), postcode (companies)"),
        5,
        "CASE WHEN c.kind = 'company' THEN c.postcode <> '' "
        "ELSE (c.company <> '' OR c.title <> '') END",
        lambda c, p, e: bool(c.postcode if c.kind == "company" else (c.company or c.title)),
    ),
)
SCORE_SQL = " + ".join(f"(CASE WHEN {rule.sql} THEN {rule.weight} ELSE 0 END)" for rule in RULES)
GOOD, FAIR = 80, 50  # bands: good ≥ 80, fair 50–79, poor below


def quality_score(customer, phones: int, emails: int) -> int:
    """The score of a customer not yet saved (imports); saved ones use quality_refresh."""
    return sum(rule.weight for rule in RULES if rule.check(customer, phones, emails))


def quality_missing(customer, phones: int, emails: int) -> list[tuple[object, int]]:
    """What the customer lacks, with the points each would add."""
    return [(rule.label, rule.weight) for rule in RULES if not rule.check(customer, phones, emails)]


def quality_refresh(customer_ids: Iterable[int] | None = None) -> int:
    """Recompute the stored score (all live customers when no ids are given)."""
    with connection.cursor() as cursor:
        if customer_ids is None:
            cursor.execute(
                f"UPDATE customers_customer c SET quality = {SCORE_SQL} "  # noqa: S608 - constant
                f"WHERE c.quality IS DISTINCT FROM ({SCORE_SQL})"
            )
        else:
            ids = list(customer_ids)
            if not ids:
                return 0
            cursor.execute(
                f"UPDATE customers_customer c SET quality = {SCORE_SQL} "  # noqa: S608 - constant
                f"WHERE c.id = ANY(%s) AND c.quality IS DISTINCT FROM ({SCORE_SQL})",
                [ids],
            )
        return cursor.rowcount
