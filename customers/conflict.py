"""The conflict check (查冲突): before creating a customer, is it
already here, in the pool, or held by a colleague?

The look-up reads every live customer, whoever holds it (that is its point), so
it answers with the least that settles the question: for a colleague's customer
only the colleague's name and a masked record. Every look-up is audited. A new
customer that matches one held by somebody else, or one in the pool, is refused
with the same answer (`conflict_refusal`), so nobody takes a colleague's
customer, or a pool customer past its cool-down, by typing it in again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from crm.audit import audit_record
from crm.fields import blind_index
from crm.models import AuditAction, User
from crm.normalise import email_mask, name_normalise, phone_mask
from customers.models import Customer, CustomerEmail, CustomerKind, CustomerPhone
from customers.selectors import _email_or_none, _phone_or_none, visible_customers

MAX_MATCHES = 20
YOURS, POOL, COLLEAGUE = "yours", "pool", "colleague"


@dataclass
class Match:
    customer_id: int
    state: str  # yours, pool or colleague
    number: str
    name: str  # masked for a person held by someone else
    company: str
    city: str
    phones: list[str] = field(default_factory=list)  # masked
    emails: list[str] = field(default_factory=list)  # masked
    owner: str = ""  # the colleague's name
    team: str = ""
    visible: bool = False  # the actor may open the record


def _kind_of(query: str) -> tuple[str, str]:
    phone = _phone_or_none(query)
    if phone:
        return "phone", phone
    email = _email_or_none(query)
    if email:
        return "email", email
    return "name", name_normalise(query).casefold()


def _ids_unscoped_for_conflict_check(kind: str, value: str) -> list[int]:
    """Live customers matching exactly, whoever holds them (never shown as such)."""
    if kind == "phone":
        rows = CustomerPhone.objects.filter(number_index=blind_index(value))
        return list(rows.values_list("customer_id", flat=True).distinct()[:MAX_MATCHES])
    if kind == "email":
        rows = CustomerEmail.objects.filter(address_index=blind_index(value))
        return list(rows.values_list("customer_id", flat=True).distinct()[:MAX_MATCHES])
    exact = Q(lower_name=value) | Q(lower_company=value) | Q(number=value.upper())
    if len(value) == 18:
        exact |= Q(uscc=value.upper())
    return list(
        Customer.objects.alive()
        .annotate(lower_name=Lower("name"), lower_company=Lower("company"))
        .filter(exact)
        .values_list("pk", flat=True)[:MAX_MATCHES]
    )


def _masked_name(customer: Customer) -> str:
    if customer.kind == CustomerKind.COMPANY or len(customer.name) < 2:
        return customer.name
    return customer.name[0] + "＊" * (len(customer.name) - 1)


def _answers(actor: User, ids: list[int]) -> list[Match]:
    customers = (
        Customer.objects.alive()
        .filter(pk__in=ids)
        .select_related("owner", "team")
        .prefetch_related("phones", "emails", "collaborators")
        .order_by("number")
    )
    visible = set(visible_customers(actor).filter(pk__in=ids).values_list("pk", flat=True))
    answers = []
    for customer in customers:
        if customer.owner_id is None:
            state = POOL
        elif customer.owner_id == actor.pk or any(
            c.user_id == actor.pk for c in customer.collaborators.all()
        ):
            state = YOURS
        else:
            state = COLLEAGUE
        answers.append(
            Match(
                customer_id=customer.pk,
                state=state,
                number=customer.number,
                name=customer.name if state == YOURS else _masked_name(customer),
                company=customer.company,
                city=customer.city,
                phones=[phone_mask(p.number) for p in customer.phones.all()][:3],
                emails=[email_mask(e.address) for e in customer.emails.all()][:3],
                owner=str(customer.owner) if customer.owner_id else "",
                team=str(customer.team) if customer.team_id else "",
                visible=customer.pk in visible,
            )
        )
    return answers


def conflict_check(*, actor: User, query: str, request=None) -> list[Match]:
    """Who has the customer typed in (a name, company, customer number, credit code,
    phone or e-mail): the answers, and an audit event either way."""
    query = " ".join(str(query or "").split())[:100]
    if len(query) < 2:
        raise ValidationError(
            {"q": ValidationError(_("Type at least two characters."), code="too_short")}
        )
    if not actor.has_perm("customers.add_customer"):
        raise ValidationError(_("You may not create customers."), code="forbidden")
    kind, value = _kind_of(query)
    answers = _answers(actor, _ids_unscoped_for_conflict_check(kind, value))
    shown = {"phone": phone_mask, "email": email_mask}.get(kind, lambda text: text)(value)
    audit_record(
        actor=actor,
        action=AuditAction.CONFLICT_CHECK,
        extra={
            "query": shown,
            "kind": kind,
            "matches": [a.customer_id for a in answers],
            "held_by_others": [a.customer_id for a in answers if a.state == COLLEAGUE],
        },
        request=request,
    )
    return answers


def _refusal(match: Match) -> ValidationError:
    params = {"owner": match.owner, "number": match.number, "name": match.name,
              "contact": (match.phones or match.emails or [""])[0]}  # fmt: skip
    if match.state == POOL:
        return ValidationError(
            _("This customer is already in the shared pool (%(number)s, %(name)s): claim it "
              "there instead."),
            code="in_pool", params=params,
        )  # fmt: skip
    return ValidationError(
        _("Already held by %(owner)s (%(number)s, %(name)s %(contact)s): ask your manager to "
          "transfer it."),
        code="held", params=params,
    )  # fmt: skip


class OwnDuplicate(ValidationError):
    """The new customer looks like one the actor already owns: a warning the user
    may pass ("create anyway"), with the customers to open instead."""

    def __init__(self, matches: list[Match]):
        first = matches[0]
        super().__init__(
            _("You already have this customer: %(number)s %(name)s. Open it instead, or "
              "create a new one anyway."),
            code="yours_already", params={"number": first.number, "name": first.name},
        )  # fmt: skip
        self.matches = matches


def conflict_refusal(*, actor: User, values: dict, own_ok: bool = False) -> None:
    """Refuse a new customer that a colleague holds or the pool has: the answer on
    the field that matched. One of the actor's own customers is a warning they may
    pass (`own_ok`). Data stewards and admins, who see every customer and merge
    duplicates, are not held to it."""
    if actor.has_perm("customers.view_all_customers"):
        return
    own: dict[int, Match] = {}
    keys = [("phones", "phone", p) for p in values.get("phones", [])]
    keys += [("emails", "email", e) for e in values.get("emails", [])]
    if values.get("uscc"):
        keys.append(("uscc", "name", values["uscc"].casefold()))
    if values.get("kind") == CustomerKind.COMPANY and values.get("name"):
        keys.append(("name", "name", name_normalise(values["name"]).casefold()))
    for field_name, kind, value in keys:
        ids = _ids_unscoped_for_conflict_check(kind, value)
        if field_name == "name":  # a company: the same name among company customers
            ids = list(
                Customer.objects.filter(pk__in=ids, kind=CustomerKind.COMPANY)
                .annotate(lower_name=Lower("name"))
                .filter(lower_name=value)
                .values_list("pk", flat=True)
            )
        for match in _answers(actor, ids):
            if match.state != YOURS:
                raise ValidationError({field_name: _refusal(match)})
            if field_name != "uscc":  # a credit code is unique: refused, not a warning
                own.setdefault(match.customer_id, match)
    if own and not own_ok:
        raise OwnDuplicate(list(own.values()))
