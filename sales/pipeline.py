"""Every write to opportunities and competitors: checked, locked, audited.

An opportunity belongs to a customer the actor may work on. Its stage moves
through qualification → needs analysis → proposal → negotiation and ends won or
lost (a lost one says why, and names the competitor when it went to one); a
closed one may be reopened. Entering a stage sets the probability to the stage's
default (`StageSetting`, editable by admins); the owner may then adjust it while
the opportunity is open. Every move is kept in `OpportunityStageChange`. A won
opportunity can create its order, once.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.audit import audit_record, diff, snapshot, versioned_save
from crm.models import AuditAction, User
from crm.normalise import length_check
from customers.selectors import assignable_owners, editable_customers
from sales.models import (
    BASE_CURRENCY,
    CLOSED_STAGES,
    OPEN_STAGES,
    STAGE_PROBABILITIES,
    Competitor,
    LostReason,
    Opportunity,
    OpportunityStageChange,
    Order,
    PricePosition,
    Stage,
    StageSetting,
)
from sales.services.access import customer_object_locked
from sales.services.values import _text, money_clean

OPPORTUNITY_FIELDS = (
    "title",
    "amount",
    "probability",
    "expected_close",
    "owner",
    "next_step",
    "competitor",
)
COMPETITOR_FIELDS = (
    "name",
    "website",
    "strengths",
    "weaknesses",
    "price_position",
    "notes",
    "is_active",
)


def stage_probability(stage: str) -> int:
    setting = StageSetting.objects.filter(stage=stage).values_list("probability", flat=True)
    return next(iter(setting), STAGE_PROBABILITIES.get(stage, 0))


# --- competitors -------------------------------------------------------------------


def competitor_save(
    *, actor: User, data: Mapping[str, Any], competitor_id: int | None = None, request=None
) -> Competitor:
    permission = "sales.change_competitor" if competitor_id else "sales.add_competitor"
    if not actor.has_perm(permission):
        raise ValidationError(_("You may not change competitors."), code="forbidden")
    errors: dict[str, list] = {}
    values = {
        "name": _text(data.get("name"), 0),
        "website": _text(data.get("website"), 0),
        "strengths": str(data.get("strengths") or "").strip(),
        "weaknesses": str(data.get("weaknesses") or "").strip(),
        "price_position": str(data.get("price_position") or ""),
        "notes": str(data.get("notes") or "").strip(),
        "is_active": bool(data.get("is_active", True)),
    }
    if not values["name"]:
        errors["name"] = [ValidationError(_("Enter the competitor's name."), code="required")]
    length_check(errors, "name", values["name"], 100)
    length_check(errors, "website", values["website"], 200)
    if values["price_position"] not in ("", *PricePosition.values):
        errors["price_position"] = [ValidationError(_("Choose from the list."), code="invalid")]
    with transaction.atomic():
        taken = Competitor.objects.annotate(upper=Upper("name")).filter(
            upper=values["name"].upper()
        )
        if competitor_id:
            taken = taken.exclude(pk=competitor_id)
        if values["name"] and taken.exists():
            errors["name"] = [
                ValidationError(_("A competitor of this name exists already."), code="taken")
            ]
        if errors:
            raise ValidationError(errors)
        if competitor_id:
            competitor = Competitor.objects.select_for_update().get(pk=competitor_id)
            before = snapshot(competitor, COMPETITOR_FIELDS)
            for name, value in values.items():
                setattr(competitor, name, value)
            competitor.updated_at = timezone.now()
            action, changes = AuditAction.UPDATE, diff(before, snapshot(competitor))
        else:
            competitor = Competitor(**values)
            action = AuditAction.CREATE
            changes = {name: (None, value) for name, value in values.items() if value}
        try:
            with transaction.atomic():
                competitor.save()
        except IntegrityError:  # the same name saved at the same moment
            raise ValidationError(
                {"name": [_("A competitor of this name exists already.")]}
            ) from None
        audit_record(
            actor=actor, action=action, target=competitor, changes=changes, request=request
        )
    return competitor


# --- opportunities -----------------------------------------------------------------


def _owner_clean(actor: User, customer_owner: int | None, owner: User | None) -> User:
    if owner is None:
        return actor
    if owner.pk in (actor.pk, customer_owner):
        return owner
    if not assignable_owners(actor).filter(pk=owner.pk).exists():
        raise ValidationError(_("Choose an owner from the list."), code="bad_owner")
    return owner


def _opportunity_values(
    actor: User, customer_owner: int | None, data: Mapping[str, Any], *, default_probability: int
) -> dict[str, Any]:
    errors: dict[str, list] = {}
    values: dict[str, Any] = {
        "title": _text(data.get("title"), 0),
        "next_step": _text(data.get("next_step"), 0),
    }
    if not values["title"]:
        errors["title"] = [ValidationError(_("Enter what the deal is about."), code="required")]
    length_check(errors, "title", values["title"], 200)
    length_check(errors, "next_step", values["next_step"], 200)
    try:
        values["amount"] = money_clean(data.get("amount"), BASE_CURRENCY)
    except ValidationError as exc:
        errors["amount"] = [exc]
    probability = data.get("probability")
    if probability in (None, ""):
        values["probability"] = default_probability
    else:
        try:
            values["probability"] = int(probability)
        except (TypeError, ValueError):
            values["probability"] = -1
        if not 0 <= values["probability"] <= 100:
            errors["probability"] = [
                ValidationError(_("Enter a probability from 0 to 100 %."), code="range")
            ]
    close = data.get("expected_close")
    if not isinstance(close, datetime.date):
        errors["expected_close"] = [
            ValidationError(_("Enter the date you expect to close."), code="required")
        ]
    elif not datetime.date(1990, 1, 1) <= close <= datetime.date(2100, 12, 31):
        errors["expected_close"] = [
            ValidationError(_("Enter a date between 1990 and 2100."), code="range")
        ]
    else:
        values["expected_close"] = close
    try:
        values["owner"] = _owner_clean(actor, customer_owner, data.get("owner"))
    except ValidationError as exc:
        errors["owner"] = [exc]
    competitor = data.get("competitor")
    if competitor is not None and not isinstance(competitor, Competitor):
        errors["competitor"] = [ValidationError(_("Choose from the list."), code="invalid")]
    values["competitor"] = competitor
    if errors:
        raise ValidationError(errors)
    return values


def _stage_record(opportunity: Opportunity, from_stage: str, actor: User, now) -> None:
    OpportunityStageChange.objects.create(
        opportunity=opportunity,
        from_stage=from_stage,
        to_stage=opportunity.stage,
        probability=opportunity.probability,
        amount=opportunity.amount,
        changed_at=now,
        actor=actor,
    )


@transaction.atomic
def opportunity_create(
    *, actor: User, customer_id: int, data: Mapping[str, Any], request=None
) -> Opportunity:
    """Open an opportunity on a customer the actor may work on. `data`: title,
    amount (CNY), stage (an open one; qualification by default), probability
    (the stage's default when empty), expected_close, owner, next_step, competitor."""
    if not actor.has_perm("sales.add_opportunity"):
        raise ValidationError(_("You may not open opportunities."), code="forbidden")
    customer = editable_customers(actor).filter(pk=customer_id).first()
    if customer is None:
        raise ValidationError(
            _("You may not open opportunities for this customer."), code="forbidden_customer"
        )
    stage = data.get("stage") or Stage.QUALIFICATION
    if stage not in OPEN_STAGES:
        raise ValidationError(
            {"stage": [ValidationError(_("A new opportunity starts in an open stage."))]}
        )
    values = _opportunity_values(
        actor, customer.owner_id, data, default_probability=stage_probability(stage)
    )
    now = timezone.now()
    opportunity = Opportunity.objects.create(
        customer=customer,
        stage=stage,
        team_id=values["owner"].team_id,
        created_by=actor,
        created_at=now,
        updated_at=now,
        **values,
    )
    _stage_record(opportunity, "", actor, now)
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        target=opportunity,
        changes={
            "customer": (None, customer.number),
            "title": (None, opportunity.title),
            "amount": (None, opportunity.amount),
            "stage": (None, stage),
            "owner": (None, opportunity.owner.get_username()),
        },
        extra={"version": 1},
        request=request,
    )
    return opportunity


class OpportunityConflict(ValidationError):
    def __init__(self):
        super().__init__(
            _(
                "Someone changed this opportunity while you were editing it. Reload the "
                "page to see their changes, then make yours again."
            ),
            code="conflict",
        )


def _locked(actor: User, opportunity_id: int, version: int | None) -> Opportunity:
    opportunity = customer_object_locked(
        Opportunity.objects.select_related("owner"), actor, opportunity_id,
        "sales.change_opportunity", _("You may not change this opportunity."),
    )  # fmt: skip
    if version is not None and version != opportunity.version:
        raise OpportunityConflict
    return opportunity


def _saved(opportunity: Opportunity, actor: User, changes, request, now=None) -> Opportunity:
    return versioned_save(opportunity, actor, changes, request=request, now=now)


@transaction.atomic
def opportunity_update(
    *, actor: User, opportunity_id: int, version: int, data: Mapping[str, Any], request=None
) -> Opportunity:
    """Change an open opportunity's fields (its stage moves through opportunity_move)."""
    opportunity = _locked(actor, opportunity_id, version)
    if not opportunity.is_open:
        raise ValidationError(
            _("A closed opportunity is reopened before it is changed."), code="closed"
        )
    values = _opportunity_values(
        actor,
        opportunity.customer.owner_id,
        {"owner": opportunity.owner, **data},
        default_probability=opportunity.probability,
    )
    before = snapshot(opportunity, OPPORTUNITY_FIELDS)
    for name, value in values.items():
        setattr(opportunity, name, value)
    if opportunity.owner_id != before["owner"]:
        opportunity.team_id = opportunity.owner.team_id
    changes = diff(before, snapshot(opportunity, OPPORTUNITY_FIELDS))
    if not changes:
        return opportunity
    return _saved(opportunity, actor, changes, request)


@transaction.atomic
def opportunity_move(
    *,
    actor: User,
    opportunity_id: int,
    stage: str,
    version: int | None = None,
    lost_reason: str = "",
    lost_notes: str = "",
    competitor: Competitor | None = None,
    request=None,
) -> Opportunity:
    """Move to another stage (from the board or the opportunity's page). Lost needs
    a reason, and the competitor when the reason is one; a closed opportunity moved
    to an open stage is reopened."""
    if stage not in Stage.values:
        raise ValidationError(_("Choose a stage from the list."), code="invalid")
    opportunity = _locked(actor, opportunity_id, version)
    if stage == opportunity.stage:
        return opportunity
    errors: dict[str, list] = {}
    if stage == Stage.LOST:
        if lost_reason not in LostReason.values:
            errors["lost_reason"] = [
                ValidationError(_("Say why the opportunity was lost."), code="required")
            ]
        if lost_reason == LostReason.COMPETITOR and competitor is None:
            errors["competitor"] = [
                ValidationError(_("Name the competitor who won it."), code="required")
            ]
        length_check(errors, "lost_notes", lost_notes, 2000)
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    before = snapshot(opportunity, ("stage", "probability", "lost_reason", "competitor"))
    from_stage = opportunity.stage
    opportunity.stage = stage
    opportunity.probability = stage_probability(stage)
    if stage in CLOSED_STAGES:
        opportunity.closed_at = now
    else:
        opportunity.closed_at = None
    if stage == Stage.LOST:
        opportunity.lost_reason = lost_reason
        opportunity.lost_notes = lost_notes.strip()
        opportunity.competitor = competitor or opportunity.competitor
    else:
        opportunity.lost_reason, opportunity.lost_notes = "", ""
    _stage_record(opportunity, from_stage, actor, now)
    changes = diff(
        before, snapshot(opportunity, ("stage", "probability", "lost_reason", "competitor"))
    )
    return _saved(opportunity, actor, changes, request, now)


def opportunity_for_order(actor: User, opportunity_id: int, customer_id: int) -> Opportunity:
    """The won opportunity an order being entered comes from, locked; refused when
    it is not won, belongs to another customer, or has its order already."""
    opportunity = _locked(actor, opportunity_id, None)
    if opportunity.customer_id != customer_id or opportunity.stage != Stage.WON:
        raise ValidationError(
            _("Only a won opportunity of this customer creates an order."), code="not_won"
        )
    if opportunity.order_id is not None:
        raise ValidationError(
            _("This opportunity has created its order already (%(number)s).")
            % {"number": opportunity.order.number},
            code="has_order",
        )
    return opportunity


def opportunity_order_link(
    *, actor: User, opportunity: Opportunity, order: Order, request=None
) -> None:
    opportunity.order = order
    _saved(opportunity, actor, {"order": (None, order.number)}, request)
