"""What the customer page says about a customer's buying, in words: the
lifecycle stage's reasons, the churn risk and the next expected purchase."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from customers.models import CustomerMetrics, Stage
from segmentation.models import SegmentationRules
from segmentation.scoring import latest_run


@dataclass(frozen=True)
class Outlook:
    """What the customer page says about a customer's buying, in words."""

    reasons: list[str]
    churn_percent: int | None  # 100 × (1 − P(alive)); None: no model or no repeat
    next_purchase_on: datetime.date | None
    days_to_next: int | None  # negative: overdue

    @property
    def days_overdue(self) -> int:
        return -self.days_to_next if self.days_to_next is not None else 0


# The sentences of stage_reasons; segmentation.churn writes the same in SQL.
REASON_USUAL = gettext_noop("Usually buys every %(usual)s; last purchase %(since)s ago.")
REASON_ONCE = gettext_noop(
    "Bought once, %(since)s ago; customers usually buy again within %(typical)s."
)
REASON_MODEL = gettext_noop("The model gives a %(percent)s%% chance that the customer still buys.")
REASON_NEVER_CONTACTED = gettext_noop("Never contacted.")
REASON_NO_CONTACT = gettext_noop("No contact for %(days)s.")
NO_CONTACT_FROM_DAYS = 30  # the days without contact worth a sentence


def days_form(count: int) -> str:
    """ "%(count)s days", in the plural form `count` takes."""
    return ngettext("%(count)s day", "%(count)s days", count)


def contacts_form(count: int) -> str:
    return ngettext(
        "%(recent)s interaction in the last 90 days; usually %(usual)s.",
        "%(recent)s interactions in the last 90 days; usually %(usual)s.",
        count,
    )


def _days(count: int) -> str:
    return days_form(count) % {"count": count}


def sentences(reasons: list[str]) -> str:
    """The reasons as one text: spaced, but not after a full-width full stop."""
    return FULL_STOP_SPACE.sub(r"\1", " ".join(reasons))


FULL_STOP_SPACE = re.compile(r"([。！？]) ")


def whole(value: Decimal) -> int:
    """Rounded half up, as PostgreSQL's round() does."""
    return int(Decimal(value).quantize(Decimal(1), ROUND_HALF_UP))


def stage_reasons(figures, rules: SegmentationRules, typical_interval: Decimal | None) -> list[str]:
    """The facts behind a customer's stage, as sentences: the rhythm of their
    purchases, the model's chance that they still buy, a drop in contact.
    `figures`: the customer's metrics, or a churn episode's copy of them."""
    if not figures.purchase_days or figures.days_since_purchase is None:
        return []
    since = _days(figures.days_since_purchase)
    if figures.purchase_days >= 2 and figures.purchase_interval_days is not None:
        usual = _days(max(1, whole(figures.purchase_interval_days)))
        reasons = [_(REASON_USUAL) % {"usual": usual, "since": since}]
    else:
        typical = _days(whole(typical_interval or rules.default_interval_days))
        reasons = [_(REASON_ONCE) % {"since": since, "typical": typical}]
    if figures.p_alive is not None and figures.p_alive < rules.at_risk_p_alive:
        reasons.append(_(REASON_MODEL) % {"percent": whole(figures.p_alive * 100)})
    usual_contacts = figures.usual_interactions_90d
    if (
        usual_contacts is not None
        and usual_contacts >= 1
        and figures.interactions_90d < usual_contacts * rules.contact_drop_share / 100
    ):
        usual = str(Decimal(usual_contacts).quantize(Decimal("0.1"), ROUND_HALF_UP))
        recent = figures.interactions_90d
        reasons.append(
            contacts_form(recent) % {"recent": recent, "usual": usual.removesuffix(".0")}
        )
    if figures.lifecycle in (Stage.AT_RISK, Stage.CHURNED):
        if figures.days_since_contact is None:
            reasons.append(_(REASON_NEVER_CONTACTED))
        elif figures.days_since_contact >= NO_CONTACT_FROM_DAYS:
            reasons.append(_(REASON_NO_CONTACT) % {"days": _days(figures.days_since_contact)})
    return reasons


def customer_outlook(metrics: CustomerMetrics | None) -> Outlook | None:
    """The customer page's words on the customer's buying (two queries: the rules
    and the last run)."""
    if metrics is None or not metrics.purchase_days:
        return None
    run = latest_run()
    reasons = stage_reasons(
        metrics, SegmentationRules.current(), run.typical_interval_days if run else None
    )
    churn = None if metrics.p_alive is None else round((1 - metrics.p_alive) * 100)
    days_to_next = None
    if metrics.next_purchase_on is not None:
        days_to_next = (metrics.next_purchase_on - timezone.localdate()).days
    return Outlook(reasons, churn, metrics.next_purchase_on, days_to_next)
