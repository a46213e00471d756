"""Row access: one scoping selector per owned model; out of scope answers 404."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse

from crm.access import registered_models, scoped
from crm.models import Notification, Team, User
from crm.services import notify

pytestmark = pytest.mark.django_db


def _visible(user) -> set[str]:
    return set(scoped(User, user).values_list("username", flat=True))


def test_rep_sees_self_and_own_team_only(rep, other_rep, far_rep, manager, steward):
    assert _visible(rep) == {"rep1", "rep2", "manager"}


def test_manager_sees_the_teams_they_manage(rep, other_rep, far_rep, manager):
    assert _visible(manager) == {"rep1", "rep2", "manager"}


def test_manager_of_two_teams_sees_both(rep, far_rep, manager, other_team):
    other_team.manager = manager
    other_team.save()
    assert _visible(manager) == {"rep1", "rep3", "manager"}


@pytest.mark.parametrize("fixture", ["steward", "auditor", "admin_user"])
def test_steward_auditor_and_admin_see_everyone(request, fixture, rep, far_rep):
    user = request.getfixturevalue(fixture)
    assert {"rep1", "rep3", user.username} <= _visible(user)


def test_inactive_or_anonymous_users_see_nothing(rep, other_rep):
    rep.is_active = False
    assert _visible(rep) == set()
    assert _visible(AnonymousUser()) == set()


def test_every_owned_model_has_a_scope():
    assert {User, Team, Notification} <= set(registered_models())


def test_unregistered_model_is_refused(rep):
    from django.contrib.auth.models import Group

    with pytest.raises(LookupError):
        scoped(Group, rep)


def test_rep_gets_404_on_a_person_of_another_team(client, rep, far_rep):
    client.force_login(rep)
    assert client.get(reverse("person_detail", args=[far_rep.pk])).status_code == 404
    assert client.get(reverse("person_detail", args=[rep.pk])).status_code == 200


def test_rep_gets_404_on_another_team(client, rep, far_rep):
    client.force_login(rep)
    assert client.get(reverse("team_detail", args=[far_rep.team_id])).status_code == 404
    assert client.get(reverse("team_detail", args=[rep.team_id])).status_code == 200


def test_missing_and_forbidden_look_the_same(client, rep, far_rep):
    client.force_login(rep)
    forbidden = client.get(reverse("person_detail", args=[far_rep.pk]))
    missing = client.get(reverse("person_detail", args=[999999]))
    assert forbidden.status_code == missing.status_code == 404
    assert forbidden.content == missing.content


def test_people_list_shows_only_the_scope(
    client, rep, other_rep, far_rep, django_assert_max_num_queries
):
    client.force_login(rep)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("person_list"))
    names = {person.username for person in response.context["page_obj"]}
    assert names == {"rep1", "rep2"}


@pytest.mark.parametrize("query", ["12345", "138001", "+", "x" * 100, "王"])
def test_search_answers_any_input(client, rep, query):
    client.force_login(rep)
    assert client.get(reverse("search"), {"q": query}).status_code == 200


def test_search_respects_scope(client, rep, far_rep):
    client.force_login(rep)
    response = client.get(reverse("search"), {"q": "rep"})
    found = {entry["section"].key: entry["results"] for entry in response.context["sections"]}
    assert {person.username for person in found["people"]} == {"rep1"}


def test_someone_elses_notification_answers_404(client, rep, other_rep):
    note = notify(recipient=other_rep, text="秘密")
    client.force_login(rep)
    assert client.post(reverse("notification_open", args=[note.pk])).status_code == 404
    note.refresh_from_db()
    assert note.read_at is None


def test_a_colleague_is_found_by_the_full_name_people_write(rep, manager, other_rep):
    from crm.selectors import user_search

    for query in ("李娜", "李 娜", "娜"):
        assert rep in user_search(user=manager, query=query), query
    assert list(user_search(user=manager, query="李娜伟")) == []
