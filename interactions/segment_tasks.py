"""A task for every member of a saved segment (customers.segments): for the
member's owner, or the asker for a pool customer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from crm.models import User
from customers.segments import NOT_APPLYING, segment_applies, segment_members, segments_visible
from interactions.selectors import task_people
from interactions.services.tasks import task_create

TASKS_AT_ONCE = 500  # a larger segment is narrowed before it gets a task each


def segment_tasks_create(
    *, actor: User, segment_id: int, data: Mapping[str, Any], request=None
) -> tuple[int, int]:
    """A task for each member of the segment the actor sees, for the member's owner
    (the actor for a pool customer); members whose owner the actor may not give
    tasks to are skipped. Returns (created, skipped); all or nothing."""
    segment = segments_visible(actor).filter(pk=segment_id).first()
    if segment is None:
        raise ValidationError(_("This segment is not there any more."), code="missing")
    if not segment_applies(segment, actor):
        raise ValidationError(NOT_APPLYING, code="stale")
    members = list(
        segment_members(segment, actor).select_related("owner").order_by("pk")[: TASKS_AT_ONCE + 1]
    )
    if len(members) > TASKS_AT_ONCE:
        raise ValidationError(
            _("The segment has more than %(count)s members: narrow it first.")
            % {"count": TASKS_AT_ONCE},
            code="too_many",
        )
    allowed = set(task_people(actor).values_list("pk", flat=True))
    created = skipped = 0
    with transaction.atomic():
        for customer in members:
            assignee = customer.owner or actor
            if assignee.pk not in allowed:
                skipped += 1
                continue
            task_create(
                actor=actor,
                data={**data, "customer": customer, "assignee": assignee},
                request=request,
            )
            created += 1
    return created, skipped
