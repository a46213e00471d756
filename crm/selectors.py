"""Reads of the core app: people, teams, notifications, the audit log."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet, Value
from django.db.models.functions import Concat

from crm.access import register_scope
from crm.fields import blind_index
from crm.models import AuditEvent, Notification, Team, User
from crm.normalise import phone_normalise


def sees_everyone(user: User) -> bool:
    return user.is_superuser or user.has_perm("crm.view_all_users")


@register_scope(User)
def visible_users(user: User) -> QuerySet[User]:
    """Everyone for admins, stewards and auditors; otherwise oneself, one's team
    and the teams one manages."""
    qs = User.objects.select_related("team")
    if sees_everyone(user):
        return qs
    teams = Q(team__manager=user)
    if user.team_id is not None:
        teams |= Q(team_id=user.team_id)
    return qs.filter(Q(pk=user.pk) | teams)


@register_scope(Team)
def visible_teams(user: User) -> QuerySet[Team]:
    qs = Team.objects.select_related("manager")
    if sees_everyone(user):
        return qs
    own = Q(manager=user)
    if user.team_id is not None:
        own |= Q(pk=user.team_id)
    return qs.filter(own)


def user_search(*, user: User, query: str) -> QuerySet[User]:
    """People the user may see, by name (a part, or the whole as people write it:
    张伟, Wei Zhang), username, e-mail or exact mobile number."""
    query = " ".join(query.split())
    qs = visible_users(user).filter(is_active=True)
    if not query:
        return qs.none()
    qs = qs.alias(
        name_zh=Concat("last_name", "first_name"),
        name_en=Concat("first_name", Value(" "), "last_name"),
    )
    text = (
        Q(username__icontains=query)
        | Q(name_zh__icontains=query.replace(" ", ""))
        | Q(name_en__icontains=query)
        | Q(email__iexact=query)
    )
    try:
        mobile = phone_normalise(query)
    except ValidationError:
        mobile = ""  # not a phone number: the text conditions alone
    if mobile:
        text |= Q(mobile_index=blind_index(mobile))
    return qs.filter(text)


def unread_notifications(user: User) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient=user, read_at__isnull=True)


def counts_at_once(querysets: dict[str, QuerySet]) -> dict[str, int]:
    """Several row counts in one round trip (the shell's badges on every page)."""
    if not querysets:
        return {}
    parts, params = [], []
    for queryset in querysets.values():
        sql, values = queryset.order_by().values("pk").query.sql_with_params()
        parts.append(f"(SELECT count(*) FROM ({sql}) AS counted)")  # noqa: S608 - ORM SQL
        params.extend(values)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts), params)
        row = cursor.fetchone()
    return dict(zip(querysets, row, strict=True))


def audit_events_for(user: User) -> QuerySet[AuditEvent]:
    """The audit log, for those allowed to read it; nobody else sees a row."""
    if not (user.is_superuser or user.has_perm("crm.view_auditevent")):
        return AuditEvent.objects.none()
    return AuditEvent.objects.select_related("actor", "target_type")


@register_scope(Notification)
def visible_notifications(user: User) -> QuerySet[Notification]:
    """A notification is its recipient's alone, whatever the role."""
    return Notification.objects.filter(recipient=user)


def command_actor(username: str | None) -> User | None:
    """Whom a management command acts as: the named active user, or the first admin."""
    users = User.objects.filter(is_active=True)
    if username:
        return users.filter(username=username).first()
    return users.filter(is_superuser=True).order_by("pk").first()
