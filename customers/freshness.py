"""The data-freshness policy (customers.models.FreshnessPolicy, docs/operations.md):
a customer is within it when verified within its segment's days (counted from
its creation when never verified) and complete enough. The audit that asks the
owners about the others is interactions.freshness_audit (it makes tasks)."""

from __future__ import annotations

import datetime

from django.db.models import Q
from django.db.models.functions import Coalesce
from django.db.models.lookups import GreaterThanOrEqual

from customers.models import FreshnessPolicy

# A customer `c` within the policy (the parameters of `policy_params`): verified,
# or created when never verified, within its segment's days, and complete enough.
# The audit asks the owners about the others; the dashboards count these.
WITHIN_POLICY = """(coalesce(c.verified_at, c.created_at)
        >= CASE WHEN c.is_key_account THEN %(key_since)s ELSE %(other_since)s END
    AND c.quality >= %(min_quality)s)"""


def within_policy(policy: FreshnessPolicy, at: datetime.datetime) -> Q:
    """WITHIN_POLICY for the ORM (the data-quality page's figure per rep and team);
    a test holds the two equal."""
    params = policy_params(policy, at)
    seen = Coalesce("verified_at", "created_at")
    return Q(quality__gte=params["min_quality"]) & (
        Q(GreaterThanOrEqual(seen, params["key_since"]), is_key_account=True)
        | Q(GreaterThanOrEqual(seen, params["other_since"]), is_key_account=False)
    )


def policy_params(policy: FreshnessPolicy, at: datetime.datetime) -> dict:
    """The parameters of WITHIN_POLICY at the moment `at`."""
    return {
        "key_since": at - datetime.timedelta(days=policy.key_account_days),
        "other_since": at - datetime.timedelta(days=policy.other_days),
        "min_quality": policy.min_quality,
    }
