"""Each role holds exactly the permissions of crm/roles.py, created by migration."""

import pytest
from django.contrib.auth.models import Group

from crm import roles

pytestmark = pytest.mark.django_db


def _perms(group: Group) -> set[str]:
    return {
        f"{p.content_type.app_label}.{p.codename}"
        for p in group.permissions.select_related("content_type")
    }


@pytest.mark.parametrize("role", sorted(roles.ROLE_PERMISSIONS))
def test_each_role_group_has_exactly_its_permissions(role):
    assert _perms(Group.objects.get(name=role)) == set(roles.ROLE_PERMISSIONS[role])


def test_the_five_roles_exist_and_nothing_else():
    assert set(Group.objects.values_list("name", flat=True)) == {
        roles.SALES_REP,
        roles.SALES_MANAGER,
        roles.DATA_STEWARD,
        roles.AUDITOR,
        roles.SERVICE_AGENT,
    }


def test_only_auditor_reads_the_audit_log(rep, manager, steward, auditor):
    assert [
        u.username for u in (rep, manager, steward, auditor) if u.has_perm("crm.view_auditevent")
    ] == ["auditor"]


def test_roles_sync_restores_a_tampered_group():
    from django.apps import apps
    from django.contrib.auth.models import Permission

    group = Group.objects.get(name=roles.SALES_REP)
    group.permissions.add(Permission.objects.get(codename="delete_user"))
    roles.roles_sync(apps)
    assert _perms(group) == set(roles.ROLE_PERMISSIONS[roles.SALES_REP])


@pytest.mark.parametrize("fixture", ["rep", "manager", "steward", "auditor", "agent"])
def test_non_staff_roles_cannot_open_admin(client, request, fixture):
    user = request.getfixturevalue(fixture)
    client.force_login(user)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response.url.startswith("/admin/login/")


def test_admin_opens_admin(client, admin_user):
    client.force_login(admin_user)
    assert client.get("/admin/").status_code == 200


def test_greeting_role_labels_follow_the_language(rep, admin_user):
    from django.utils import translation

    with translation.override("en"):
        assert roles.user_role_labels(rep) == ["Sales rep"]
        assert roles.user_role_labels(admin_user) == ["Administrator"]
    with translation.override("zh-hans"):
        assert roles.user_role_labels(rep) == ["销售代表"]
