"""The customer record (DESIGN §4) and what hangs off it, one module per concern:
`labels` (tags, source channels), `customer` (the record and its choice lists),
`parts` (contacts, phones, e-mails, collaborators, the stage history), `merge`
(merges and not-a-duplicate pairs), `metrics` (the derived figures), `policies`
(import rules, value mappings, the freshness policy), `segments` (saved filters)
and `pool` (the ownership ledger, release reasons, the pool rules).

Phones, e-mails, the street address and the financial profile are encrypted at
rest; phones and e-mails live in child rows, each with a blind index, so a
customer may have several and an exact search finds any of them. Writes go
through `customers.services`, which keeps the derived search columns (pinyin,
n-grams) in step and audits every change. Every model, choice list and public
constant is importable from `customers.models`, as Django apps expect.
"""

# In the order the models have always been registered in (the app registry lists
# them so, and with it admin, dumpdata and the deletion collector).
# isort: off
from customers.models.labels import Source, SourceChannel, Tag, TagColour
from customers.models.customer import (
    ConsentSource,
    Customer,
    CustomerKind,
    CustomerQuerySet,
    FinancialStatus,
    Gender,
    Industry,
    RiskPreference,
    Stage,
    age_on,
)
from customers.models.parts import (
    Collaborator,
    CollaboratorAccess,
    CollaboratorRole,
    Contact,
    CustomerEmail,
    CustomerPhone,
    PhoneLabel,
    StageChange,
)
from customers.models.merge import CustomerMerge, DuplicateDismissal
from customers.models.metrics import CustomerMetrics, FrequencyTier, RfmSegment, ValueTier
from customers.models.policies import FreshnessPolicy, ImportRules, ImportValueMapping
from customers.models.segments import Segment
from customers.models.pool import (
    POOL_RULE_VALUES,
    OwnershipChange,
    OwnershipKind,
    PoolRule,
    RecycleReason,
    ReleaseReason,
)

# isort: on

__all__ = [
    "POOL_RULE_VALUES",
    "Collaborator",
    "CollaboratorAccess",
    "CollaboratorRole",
    "ConsentSource",
    "Contact",
    "Customer",
    "CustomerEmail",
    "CustomerKind",
    "CustomerMerge",
    "CustomerMetrics",
    "CustomerPhone",
    "CustomerQuerySet",
    "DuplicateDismissal",
    "FinancialStatus",
    "FrequencyTier",
    "FreshnessPolicy",
    "Gender",
    "ImportRules",
    "ImportValueMapping",
    "Industry",
    "OwnershipChange",
    "OwnershipKind",
    "PhoneLabel",
    "PoolRule",
    "RecycleReason",
    "ReleaseReason",
    "RfmSegment",
    "RiskPreference",
    "Segment",
    "Source",
    "SourceChannel",
    "Stage",
    "StageChange",
    "Tag",
    "TagColour",
    "ValueTier",
    "age_on",
]
