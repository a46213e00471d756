"""Saved segments (docs/segmentation.md): a customer list filter kept under a
name. Membership is dynamic — the filter applied when asked, among the
customers the asker may see — so a shared segment shows each colleague their
own part of it. Segments feed the list (and from it the export, the survey
sending and the bulk actions) and a task for every member (interactions.segment_tasks).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.audit import audit_record
from crm.models import AuditAction, User
from customers.filters import CustomerFilter
from customers.models import Customer, Segment
from customers.selectors import customer_list

# Query keys that say where the list is, not who is in it.
_NOT_FILTERS = {"page", "segment", "sort"}
NOT_APPLYING = gettext_lazy(
    "A value of this segment's filter no longer applies to you (an owner, team, tag or "
    "category): open it in the list and save it again."
)


def segments_visible(user: User) -> QuerySet[Segment]:
    """The user's own segments and those shared with everyone."""
    if not user.has_perm("customers.view_segment"):
        return Segment.objects.none()
    return Segment.objects.filter(Q(owner=user) | Q(shared=True)).select_related("owner")


def segment_query_clean(query: str | Mapping, user: User) -> str:
    """The filter part of a list query string, checked by the list's own filter;
    a bad value is refused with the filter's message."""
    data = QueryDict(query) if isinstance(query, str) else query
    kept = QueryDict(mutable=True)
    for key in data:
        name = key if key in CustomerFilter.base_filters else key.rpartition("_")[0]
        if name in _NOT_FILTERS or name not in CustomerFilter.base_filters:
            continue
        values = [value for value in data.getlist(key) if value.strip()]
        if values:
            kept.setlist(key, values)
    form = CustomerFilter(kept, user=user, queryset=Customer.objects.none()).form
    if not form.is_valid():
        messages = [f"{form.fields[name].label}: {' '.join(errors)}" for name, errors in
                    form.errors.items() if name in form.fields]  # fmt: skip
        raise ValidationError({"query": messages or [_("The filter is not valid.")]})
    return kept.urlencode()


def segment_members(segment: Segment, user: User) -> QuerySet[Customer]:
    """The segment's members today, among the customers `user` may see; nobody
    when a value of its filter no longer applies for `user` (an owner they cannot
    choose, a deleted tag): a filter left out would widen the segment."""
    filterset = CustomerFilter(QueryDict(segment.query), user=user, queryset=customer_list(user))
    if not filterset.is_valid():
        return customer_list(user).none()
    return filterset.qs


def segment_applies(segment: Segment, user: User) -> bool:
    """Whether every value of the segment's filter still applies for `user`."""
    queryset = Customer.objects.none()
    return CustomerFilter(QueryDict(segment.query), user=user, queryset=queryset).is_valid()


@transaction.atomic
def segment_save(
    *, actor: User, data: Mapping[str, Any], segment_id: int | None = None, request=None
) -> Segment:
    """Create a segment, or change the actor's own (name, shared, filter)."""
    if not actor.has_perm("customers.add_segment"):
        raise ValidationError(_("You may not save segments."), code="forbidden")
    if segment_id is None:
        segment = Segment(owner=actor)
    else:
        segment = Segment.objects.select_for_update().filter(pk=segment_id, owner=actor).first()
        if segment is None:
            raise ValidationError(_("Only its owner may change a segment."), code="forbidden")
    errors: dict[str, list] = {}
    name = " ".join(str(data.get("name", "")).split())
    if not name:
        errors["name"] = [_("Give the segment a name.")]
    elif len(name) > 100:
        errors["name"] = [_("At most 100 characters.")]
    shared = bool(data.get("shared"))
    if shared and not actor.has_perm("customers.share_segment"):
        errors["shared"] = [_("You may not share segments; keep it private.")]
    try:
        query = segment_query_clean(data.get("query", segment.query), actor)
    except ValidationError as error:
        errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    before = {"name": segment.name, "shared": segment.shared, "query": segment.query}
    segment.name, segment.shared, segment.query = name, shared, query
    segment.updated_at = timezone.now()
    try:
        with transaction.atomic():
            segment.save()
    except IntegrityError as error:
        raise ValidationError(
            {"name": [_("You already have a segment with this name.")]}, code="duplicate"
        ) from error
    after = {"name": segment.name, "shared": segment.shared, "query": segment.query}
    audit_record(
        actor=actor,
        action=AuditAction.CREATE if segment_id is None else AuditAction.UPDATE,
        target=segment,
        changes={key: (before[key], after[key]) for key in after if before[key] != after[key]},
        request=request,
    )
    return segment


@transaction.atomic
def segment_delete(*, actor: User, segment_id: int, request=None) -> None:
    segment = Segment.objects.select_for_update().filter(pk=segment_id, owner=actor).first()
    if segment is None or not actor.has_perm("customers.delete_segment"):
        raise ValidationError(_("Only its owner may delete a segment."), code="forbidden")
    audit_record(actor=actor, action=AuditAction.DELETE, target=segment, request=request)
    segment.delete()
