"""The reminder of a contract to renew (crm.reminders, registered in
SalesConfig.ready()): a contract in force whose renewal window has opened, to
its owner."""

from __future__ import annotations

from django.utils.translation import gettext_noop

from crm.reminders import Kind, register_reminder
from crm.sqlwords import compose, fill, record_link, words_of

WORDS = {
    "contract": gettext_noop(
        "Contract %(number)s with %(customer)s ends on %(day)s: time to renew it."
    ),
}

_CONTRACTS = compose(
    """
SELECT k.owner_id AS recipient_id, 'contract-renewal:' || k.id || ':' || k.end_date AS key,
       {text} AS text, replace(%(contract_link)s, '{id}', k.id::text) AS link, w.w
FROM sales_contract k
JOIN crm_user u ON u.id = k.owner_id AND u.is_active
CROSS JOIN LATERAL (SELECT {words} AS w) w
JOIN customers_customer c ON c.id = k.customer_id AND c.deleted_at IS NULL
WHERE k.status = 'active' AND k.end_date IS NOT NULL
  AND %(day)s::date BETWEEN k.end_date - k.renewal_notice_days AND k.end_date
""",
    text=fill(
        "w.w->>'contract'",
        day="to_char(k.end_date, 'YYYY-MM-DD')",
        number="k.number",
        customer="c.name",
    ),
    words=words_of("u"),
)


def _contract_link() -> dict:
    return {"contract_link": record_link("sales:contract_detail")}


def register() -> None:
    register_reminder(Kind("contracts", _CONTRACTS, words=WORDS, params=_contract_link))
