"""Audit events for log-in, permission changes, creates and updates; the log is
append-only and masks sensitive values."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import DatabaseError, transaction
from django.urls import reverse

from crm import roles
from crm.audit import MASK
from crm.models import AuditAction, AuditEvent, Team
from crm.services import user_set_roles, user_update_profile
from kehu.tests.fixtures import PASSWORD

pytestmark = pytest.mark.django_db


def test_login_writes_an_audit_event_with_ip(client, rep):
    client.post(
        reverse("login"), {"username": "rep1", "password": PASSWORD}, REMOTE_ADDR="10.1.2.3"
    )
    event = AuditEvent.objects.get(action=AuditAction.LOGIN)
    assert event.actor == rep
    assert event.ip_address == "10.1.2.3"


def test_failed_login_is_audited_without_the_password(client, rep):
    client.post(reverse("login"), {"username": "rep1", "password": "wrong-secret"})
    event = AuditEvent.objects.get(action=AuditAction.LOGIN_FAILED)
    assert event.actor is None
    assert event.actor_repr == "rep1"
    assert "wrong-secret" not in str(event.extra)


def test_role_change_is_a_permission_change_event(admin_user, rep):
    manager_group = Group.objects.get(name=roles.SALES_MANAGER)
    user_set_roles(actor=admin_user, user=rep, groups=[manager_group])
    event = AuditEvent.objects.get(action=AuditAction.PERMISSION_CHANGE)
    assert event.actor == admin_user
    assert event.target_id == str(rep.pk)
    assert event.changes["groups"] == [[roles.SALES_REP], [roles.SALES_MANAGER]]


def test_group_permission_edit_in_admin_is_audited(admin_client):
    group = Group.objects.get(name=roles.SALES_REP)
    extra = Permission.objects.get(codename="view_auditevent")
    kept = list(group.permissions.values_list("pk", flat=True))
    response = admin_client.post(
        reverse("admin:auth_group_change", args=[group.pk]),
        {"name": group.name, "permissions": [*kept, extra.pk]},
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action=AuditAction.PERMISSION_CHANGE)
    old, new = event.changes["permissions"]
    assert "crm.view_auditevent" not in old
    assert "crm.view_auditevent" in new


def test_team_create_and_update_in_admin_are_audited(admin_client):
    admin_client.post(reverse("admin:crm_team_add"), {"name": "华北销售组"})
    team = Team.objects.get(name="华北销售组")
    created = AuditEvent.objects.get(action=AuditAction.CREATE)
    assert created.target_repr == "华北销售组"
    admin_client.post(reverse("admin:crm_team_change", args=[team.pk]), {"name": "华北大客户组"})
    updated = AuditEvent.objects.get(action=AuditAction.UPDATE, target_id=str(team.pk))
    assert updated.changes["name"] == ["华北销售组", "华北大客户组"]


def test_profile_update_masks_the_encrypted_mobile(rep):
    user_update_profile(
        actor=rep, user_id=rep.pk, data={"mobile": "13800138000", "first_name": "娜娜"}
    )
    event = AuditEvent.objects.get(action=AuditAction.UPDATE, target_id=str(rep.pk))
    assert event.changes["mobile"] == ["", MASK]
    assert event.changes["first_name"] == ["娜", "娜娜"]
    assert "13800138000" not in str(event.changes)


def test_unchanged_profile_writes_no_event(rep):
    user_update_profile(actor=rep, user_id=rep.pk, data={"first_name": rep.first_name})
    assert not AuditEvent.objects.filter(action=AuditAction.UPDATE).exists()


def test_audit_log_cannot_be_changed_or_deleted(rep):
    user_update_profile(actor=rep, user_id=rep.pk, data={"first_name": "娜娜"})
    for attempt in (
        lambda: AuditEvent.objects.update(actor_repr="someone else"),
        lambda: AuditEvent.objects.all().delete(),
    ):
        with pytest.raises(DatabaseError), transaction.atomic():
            attempt()
    assert AuditEvent.objects.get().actor_repr == "rep1"


def test_audit_admin_is_read_only(admin_client, rep):
    user_update_profile(actor=rep, user_id=rep.pk, data={"first_name": "娜娜"})
    event = AuditEvent.objects.get(action=AuditAction.UPDATE)
    assert admin_client.get(reverse("admin:crm_auditevent_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:crm_auditevent_add")).status_code == 403
    assert (
        admin_client.post(reverse("admin:crm_auditevent_delete", args=[event.pk])).status_code
        == 403
    )
