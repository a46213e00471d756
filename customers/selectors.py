"""Reads of customer data. Every one starts from `visible_customers(user)`."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import partial

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Prefetch, Q, QuerySet

from crm import roles
from crm.access import register_scope
from crm.fields import blind_index
from crm.models import AuditEvent, User
from crm.normalise import email_normalise, phone_normalise
from crm.search import RESULTS_PER_SECTION
from crm.selectors import visible_users
from customers.freshness import within_policy
from customers.models import (
    Collaborator,
    CollaboratorAccess,
    Contact,
    Customer,
    CustomerEmail,
    CustomerMetrics,
    CustomerPhone,
    FreshnessPolicy,
    OwnershipChange,
    StageChange,
)
from customers.quality import FAIR, GOOD, quality_missing
from customers.standardise import query_grams, search_key

MAX_EXACT_MATCHES = 200  # customers sharing one phone or e-mail, at most shown


def sees_all_customers(user: User) -> bool:
    """Whether the user sees every live customer (stewards, auditors, service agents, admins)."""
    return user.is_superuser or user.has_perm("customers.view_all_customers")


def managed_team_ids(user: User) -> list[int]:
    """The teams the user manages, read once per user object (a request's), as
    Django keeps its permissions: a page asks every scoping selector."""
    if not user.has_perm("customers.view_team_customers"):
        return []
    cached = getattr(user, "_kehu_managed_team_ids", None)
    if cached is None:
        cached = list(user.managed_teams.values_list("pk", flat=True))
        user._kehu_managed_team_ids = cached
    return list(cached)


def _collaborations(user: User, *, edit_only: bool = False) -> QuerySet:
    rows = Collaborator.objects.filter(user=user)
    if edit_only:
        rows = rows.filter(access=CollaboratorAccess.EDIT)
    return rows.values("customer_id")


def customer_visibility_rule(user: User, prefix: str = "") -> Q | None:
    """The condition on a customer (reached through `prefix`, e.g. "customer__")
    that `visible_customers` applies; None when the user sees every live customer.
    Records that follow their customer's visibility (orders…) filter by it as a
    join, which the planner serves row by row instead of building the whole scope."""
    if sees_all_customers(user):
        return None
    rule = (
        Q(**{f"{prefix}owner": user})
        | Q(**{f"{prefix}owner__isnull": True})
        | Q(**{f"{prefix}pk__in": _collaborations(user)})
    )
    teams = managed_team_ids(user)
    if teams:
        rule |= Q(**{f"{prefix}team_id__in": teams})
    return rule


@register_scope(Customer)
def visible_customers(user: User) -> QuerySet[Customer]:
    """Rep: own, collaborating and the pool. Manager: also the teams managed.
    Steward, auditor, admin: every live customer."""
    qs = Customer.objects.alive()
    if not user.has_perm("customers.view_customer"):
        return qs.none()
    rule = customer_visibility_rule(user)
    return qs if rule is None else qs.filter(rule)


def visible_through_customer(
    model: type[models.Model], user: User, *, permission: str = "", also: Q | None = None
) -> QuerySet:
    """The rows of `model` (keyed by `customer`) that follow their customer: those
    of the live customers the user sees, for who holds `permission` (by default
    the model's own view permission) and may see customers; `also`, rows seen for
    another reason (a ticket's assignee). Every child model's scoping selector is
    this one rule."""
    rows = model._default_manager.filter(customer__deleted_at__isnull=True)
    permission = permission or f"{model._meta.app_label}.view_{model._meta.model_name}"
    if not (user.has_perm(permission) and user.has_perm("customers.view_customer")):
        return rows.none()
    rule = customer_visibility_rule(user, prefix="customer__")
    if rule is None:
        return rows
    return rows.filter(rule if also is None else rule | also)


# The customer's own parts follow it: who sees the customer sees them.
for _part in (
    Contact, CustomerPhone, CustomerEmail, Collaborator, StageChange, CustomerMetrics,
    OwnershipChange,
):  # fmt: skip
    register_scope(_part)(
        partial(visible_through_customer, _part, permission="customers.view_customer")
    )


def editable_customers(user: User) -> QuerySet[Customer]:
    """What the user may change: own and edit-collaborations; a manager's teams;
    everything for stewards and admins. Pool customers are claimed before edited."""
    qs = Customer.objects.alive()
    if not user.has_perm("customers.change_customer"):
        return qs.none()
    if sees_all_customers(user):
        return qs
    rule = Q(owner=user) | Q(pk__in=_collaborations(user, edit_only=True))
    teams = managed_team_ids(user)
    if teams:
        rule |= Q(team_id__in=teams) | Q(owner__isnull=True)
    return qs.filter(rule)


def deleted_customers(user: User) -> QuerySet[Customer]:
    if not user.has_perm("customers.restore_customer"):
        return Customer.objects.none()
    return Customer.objects.deleted().select_related("owner", "deleted_by").order_by("-deleted_at")


@dataclass(frozen=True)
class CustomerAccess:
    """What one user may do with one customer they can already see."""

    can_edit: bool = False
    sees_contact: bool = False  # full phones, e-mails, street without revealing
    can_reveal: bool = False
    can_delete: bool = False
    can_assign: bool = False
    sees_history: bool = False
    sees_financial: bool = False
    can_manage_collaborators: bool = False


def customer_access(
    user: User, customer: Customer, collaborators: list[Collaborator] | None = None
) -> CustomerAccess:
    if collaborators is None:
        collaborators = list(customer.collaborators.all())
    mine = next((c for c in collaborators if c.user_id == user.pk), None)
    owns = customer.owner_id is not None and customer.owner_id == user.pk
    sees_all = sees_all_customers(user)
    managed_teams = managed_team_ids(user)
    manages = customer.team_id is not None and customer.team_id in managed_teams
    may_change = user.has_perm("customers.change_customer")
    can_edit = may_change and (
        sees_all
        or owns
        or (mine is not None and mine.access == CollaboratorAccess.EDIT)
        or manages
        or (customer.owner_id is None and bool(managed_teams))
    )
    sees_contact = owns or mine is not None
    return CustomerAccess(
        can_edit=can_edit,
        sees_contact=sees_contact,
        can_reveal=not sees_contact and user.has_perm("customers.reveal_customer_contact"),
        can_delete=can_edit and user.has_perm("customers.delete_customer"),
        can_assign=can_edit and user.has_perm("customers.assign_customer_owner"),
        sees_history=owns or can_edit or user.has_perm("customers.view_customer_history"),
        sees_financial=user.has_perm("customers.view_financial_profile"),
        can_manage_collaborators=may_change and (owns or sees_all or manages),
    )


def customer_list(user: User) -> QuerySet[Customer]:
    """The list page's rows: owner, team, tags and the first phone in fixed queries;
    the last contact as plain values (`last_contact_at`, `_channel`, `_by`) read
    with the row, so a row without metrics costs nothing."""
    return (
        visible_customers(user)
        .select_related("owner", "team")
        .annotate(
            last_contact_at=F("metrics__last_contact_at"),
            last_contact_channel=F("metrics__last_contact_channel"),
            last_contact_last_name=F("metrics__last_contact_by__last_name"),
            last_contact_first_name=F("metrics__last_contact_by__first_name"),
            last_contact_username=F("metrics__last_contact_by__username"),
        )
        .prefetch_related(
            "tags",
            Prefetch(
                "phones",
                queryset=CustomerPhone.objects.filter(contact__isnull=True),
                to_attr="own_phones",
            ),
        )
    )


def pool_customers(user: User) -> QuerySet[Customer]:
    """The shared pool (公海) as the user sees it: customers without an owner, with
    how they got there (`pool_entry`: who held them, why) and `entered_at`, when
    they entered (the customer's creation for one that never had an owner); the
    first phone and e-mail of the customer itself (`own_phones`, `own_emails`),
    which the page shows masked."""
    return (
        visible_customers(user)
        .filter(owner__isnull=True)
        .select_related("pool_entry__from_user", "pool_entry__release_reason")
        .annotate(entered_at=F("pool_since"))
        .prefetch_related(
            Prefetch(
                "phones",
                queryset=CustomerPhone.objects.filter(contact__isnull=True)[:1],
                to_attr="own_phones",
            ),
            Prefetch(
                "emails",
                queryset=CustomerEmail.objects.filter(contact__isnull=True)[:1],
                to_attr="own_emails",
            ),
        )
    )


def _phone_or_none(query: str) -> str:
    try:
        return phone_normalise(query)
    except ValidationError:
        return ""


def _email_or_none(query: str) -> str:
    if "@" not in query:
        return ""
    try:
        return email_normalise(query)
    except ValidationError:
        return ""


def _blind_matches(model, field: str, value: str) -> list[int]:
    """Customer ids holding this exact phone or e-mail: one small indexed query, so
    the customer query that follows is a plain id list the planner cannot misjudge."""
    rows = model.objects.filter(**{f"{field}_index": blind_index(value)})
    return list(rows.values_list("customer_id", flat=True)[:MAX_EXACT_MATCHES])


def customers_matching(qs: QuerySet[Customer], query: str) -> QuerySet[Customer]:
    """Filter by the search box. A whole phone number or e-mail address is looked up
    by its blind index (in any accepted spelling); anything else matches the
    customer number, a name or company substring (n-gram index), or a pinyin prefix."""
    query = query.strip()[:100]
    key = search_key(query)
    if not key:
        return qs
    rule = Q(pk__in=[])  # matches nothing; each kind of match below adds to it
    if query.isascii() and any(char.isdigit() for char in query):
        rule |= Q(number=query.upper())
    phone, email = _phone_or_none(query), _email_or_none(query)
    if phone or email:
        ids = (
            _blind_matches(CustomerPhone, "number", phone)
            if phone
            else _blind_matches(CustomerEmail, "address", email)
        )
        return qs.filter(rule | Q(pk__in=ids))
    grams = query_grams(query)
    if grams:
        text = Q(search_grams__contains=grams)
        if len(key) > 2:
            text &= Q(name__icontains=query) | Q(company__icontains=query)
        rule |= text
    if key.isascii() and key.isalnum():
        rule |= Q(name_pinyin__startswith=key) | Q(name_initials__startswith=key)
    return qs.filter(rule)


def customer_search(*, user: User, query: str, limit: int = RESULTS_PER_SECTION) -> list[Customer]:
    """The top bar's customers, best first: exact number/phone/e-mail, then names
    that start with the query, then the rest. Unordered in SQL, so a one-letter
    search over a million rows stops at the first matches instead of sorting all."""
    query = query.strip()[:100]
    key = search_key(query)
    if not key:
        return []
    rows = list(
        customers_matching(visible_customers(user), query)
        .order_by()  # no sort: the first matches found are enough to rank
        .select_related("owner")
        .prefetch_related("tags")[: limit * 3]
    )

    def rank(customer: Customer) -> tuple:
        name = search_key(customer.name)
        return (
            customer.number != query.upper(),
            name != key and customer.name_pinyin != key,
            not (name.startswith(key) or customer.name_pinyin.startswith(key)),
            customer.name_pinyin,
            customer.pk,
        )

    return sorted(rows, key=rank)[:limit]


@dataclass
class ContactCard:
    contact: Contact
    phones: list[CustomerPhone] = field(default_factory=list)
    emails: list[CustomerEmail] = field(default_factory=list)


@dataclass
class Customer360:
    customer: Customer
    access: CustomerAccess
    phones: list[CustomerPhone]
    emails: list[CustomerEmail]
    contacts: list[ContactCard]
    collaborators: list[Collaborator]
    stage_changes: list[StageChange]
    history: list[AuditEvent]
    quality_missing: list = field(default_factory=list)
    metrics: CustomerMetrics | None = None


def customer_metrics(customer: Customer) -> CustomerMetrics | None:
    """The customer's purchase metrics and last contact (with who made it)."""
    rows = CustomerMetrics.objects.filter(customer=customer).select_related("last_contact_by")
    return rows.first()


def customer_360(*, user: User, customer_id: int) -> Customer360:
    """Everything the customer page shows, in a fixed number of queries."""
    customer = (
        visible_customers(user)
        .select_related(
            "owner",
            "source",
            "team",
            "created_by",
            "verified_by",
            "locked_by",
            "pool_entry__from_user",
            "pool_entry__release_reason",
        )
        .prefetch_related("tags")
        .get(pk=customer_id)
    )
    collaborators = list(customer.collaborators.select_related("user"))
    access = customer_access(user, customer, collaborators)
    phones = list(customer.phones.all())
    emails = list(customer.emails.all())
    cards = {c.pk: ContactCard(c) for c in customer.contacts.all()}
    own_phones = [p for p in phones if p.contact_id is None]
    own_emails = [e for e in emails if e.contact_id is None]
    for phone in phones:
        if phone.contact_id in cards:
            cards[phone.contact_id].phones.append(phone)
    for email in emails:
        if email.contact_id in cards:
            cards[email.contact_id].emails.append(email)
    stage_changes = list(customer.stage_changes.select_related("actor")[:20])
    history = customer_history(customer)[:50] if access.sees_history else []
    metrics = customer_metrics(customer)  # purchases (to who sees orders), last contact

    return Customer360(
        quality_missing=quality_missing(customer, len(phones), len(emails)),
        customer=customer,
        access=access,
        phones=own_phones,
        emails=own_emails,
        contacts=list(cards.values()),
        collaborators=collaborators,
        stage_changes=stage_changes,
        history=list(history),
        metrics=metrics,
    )


def customer_history(customer: Customer) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(
        target_type=ContentType.objects.get_for_model(Customer), target_id=str(customer.pk)
    ).select_related("actor")


def customer_changes_since(customer: Customer, version: int) -> dict[str, list]:
    """Fields changed by others after `version`: {field: [who, …]} from the audit log."""
    changed: dict[str, list] = defaultdict(list)
    events = customer_history(customer).filter(extra__version__gt=version).order_by("created_at")
    for event in events:
        who = str(event.actor) if event.actor is not None else event.actor_repr
        for name in event.changes:
            if who not in changed[name]:
                changed[name].append(who)
    return dict(changed)


def assignable_owners(user: User) -> QuerySet[User]:
    """Whom the user may hand customers to: the active reps and managers they see."""

    return (
        visible_users(user)
        .filter(is_active=True, groups__name__in=[roles.SALES_REP, roles.SALES_MANAGER])
        .distinct()
        .order_by("username")
    )


@dataclass
class QualityRow:
    owner: User | None
    team_name: str | None  # None: the pool (quality_by_team)
    customers: int
    average: float
    good: int
    poor: int
    fresh: int = 0  # within the data-freshness policy

    @property
    def fresh_share(self) -> int:
        return round(100 * self.fresh / self.customers) if self.customers else 0

    @property
    def good_share(self) -> int:
        return round(100 * self.good / self.customers) if self.customers else 0

    @property
    def poor_share(self) -> int:
        return round(100 * self.poor / self.customers) if self.customers else 0


def quality_by_owner(user: User) -> list[QualityRow]:
    """Data quality and freshness per owner (the pool as one row) among the
    customers the user sees."""
    from django.db.models import Avg, Count, Q
    from django.utils import timezone

    fresh = within_policy(FreshnessPolicy.current(), timezone.now())

    rows = (
        visible_customers(user)
        .values("owner", "owner__team__name")
        .annotate(
            customers=Count("id"),
            average=Avg("quality"),
            good=Count("id", filter=Q(quality__gte=GOOD)),
            poor=Count("id", filter=Q(quality__lt=FAIR)),
            fresh=Count("id", filter=fresh),
        )
        .order_by("average")
    )
    owners = {u.pk: u for u in User.objects.filter(pk__in=[r["owner"] for r in rows if r["owner"]])}
    return [
        QualityRow(
            owner=owners.get(row["owner"]),
            team_name=row["owner__team__name"] or "",
            customers=row["customers"],
            average=round(row["average"] or 0, 1),
            good=row["good"],
            poor=row["poor"],
            fresh=row["fresh"],
        )
        for row in rows
    ]


def quality_by_team(rows: list[QualityRow]) -> list[QualityRow]:
    """The owners' rows added up per team (owners without a team together, the
    pool on its own: `team_name` None), the least fresh first."""
    teams: dict[str | None, QualityRow] = {}
    for row in rows:
        name = row.team_name if row.owner is not None else None
        team = teams.setdefault(name, QualityRow(None, name, 0, 0.0, 0, 0))
        weight = team.customers + row.customers
        team.average = (team.average * team.customers + row.average * row.customers) / (weight or 1)
        team.customers = weight
        team.good += row.good
        team.poor += row.poor
        team.fresh += row.fresh
    for team in teams.values():
        team.average = round(team.average, 1)
    return sorted(teams.values(), key=lambda team: (team.fresh_share, team.team_name or ""))


def people_for_customer(user: User, customer) -> QuerySet[User]:
    """Whom a record of this customer (a sale, a ticket…) may be put down to: the
    user, the customer's owner and the colleagues the user may assign to (active
    ones)."""
    ids = set(assignable_owners(user).values_list("pk", flat=True))
    ids |= {user.pk} | ({customer.owner_id} if customer.owner_id else set())
    return User.objects.filter(pk__in=ids, is_active=True).order_by("username")
