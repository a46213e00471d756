"""The birthday reminder (crm.reminders, registered in FeedbackConfig.ready()):
a customer's birthday, to the owner, naming the birthday coupon when the loyalty
rules give one (feedback.loyalty issues it first, as a step the reminders
prepare). It lives with the loyalty rules because it words their coupon. On 28
February of a common year, those born on the 29th too."""

from __future__ import annotations

from django.utils.translation import gettext_noop

from crm.reminders import Kind, register_reminder, reminders_prepare
from crm.sqlwords import compose, fill, record_link, words_of
from feedback.loyalty import birthday_coupons_issue

WORDS = {
    "birthday": gettext_noop("Today is the birthday of %(customer)s."),
    "birthday_coupon": gettext_noop(
        "Today is the birthday of %(customer)s. A birthday coupon %(code)s of ¥%(value)s "
        "has been issued."
    ),
}

_BIRTHDAYS = compose(
    """
SELECT c.owner_id AS recipient_id, 'birthday:' || c.id || ':' || %(year)s AS key,
       CASE WHEN cp.id IS NULL THEN {text} ELSE {coupon} END AS text,
       replace(%(customer_link)s, '{id}', c.id::text) AS link, w.w
FROM customers_customer c
JOIN crm_user u ON u.id = c.owner_id AND u.is_active
CROSS JOIN LATERAL (SELECT {words} AS w) w
LEFT JOIN feedback_coupon cp
    ON cp.customer_id = c.id AND cp.reason = 'birthday' AND cp.valid_from = %(day)s::date
WHERE c.kind = 'person' AND c.deleted_at IS NULL AND c.birth_date IS NOT NULL
  AND (to_char(c.birth_date, 'MM-DD') = %(month_day)s
       OR (%(leap_day_too)s AND to_char(c.birth_date, 'MM-DD') = '02-29'))
""",
    text=fill("w.w->>'birthday'", customer="c.name"),
    coupon=fill("w.w->>'birthday_coupon'", value="cp.value", code="cp.code", customer="c.name"),
    words=words_of("u"),
)


def _customer_link() -> dict:
    return {"customer_link": record_link("customers:detail")}


def register() -> None:
    reminders_prepare(birthday_coupons_issue)  # the coupon the birthday reminder names
    register_reminder(Kind("birthdays", _BIRTHDAYS, words=WORDS, params=_customer_link))
