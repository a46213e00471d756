"""Who sees which interactions, tasks and tickets, per role (DESIGN §1): they follow
the customer; tasks belong to their assignee and the team's manager."""

from __future__ import annotations

import pytest

from interactions.selectors import visible_interactions, visible_tasks, visible_tickets
from interactions.services.tasks import task_create
from kehu.tests.fixtures import hours_ahead

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(rep, other_rep, far_rep, own_customer, colleague_customer, far_customer,
          pool_customer, steward, log, ticket_make):  # fmt: skip
    """One interaction, ticket and task per customer, each by its owner (the
    steward for the pool)."""
    made = {}
    for name, customer, owner in (
        ("own", own_customer, rep),
        ("colleague", colleague_customer, other_rep),
        ("far", far_customer, far_rep),
        ("pool", pool_customer, steward),
    ):
        made[name] = (
            log(owner, customer, subject=name),
            ticket_make(owner, customer, subject=name),
            task_create(
                actor=owner,
                data={"title": name, "due_at": hours_ahead(5), "customer": customer},
            ),
        )
    return made


def _seen(user) -> tuple[set, set, set]:
    return (
        set(visible_interactions(user).values_list("subject", flat=True)),
        set(visible_tickets(user).values_list("subject", flat=True)),
        set(visible_tasks(user).values_list("title", flat=True)),
    )


def test_each_role_sees_what_it_should(world, rep, other_rep, far_rep, manager, steward, auditor):
    assert _seen(rep) == ({"own", "pool"}, {"own", "pool"}, {"own"})
    assert _seen(other_rep) == ({"colleague", "pool"}, {"colleague", "pool"}, {"colleague"})
    assert _seen(far_rep) == ({"far", "pool"}, {"far", "pool"}, {"far"})
    # The manager of rep1's team: the team's customers and the pool; the team's tasks.
    assert _seen(manager) == (
        {"own", "colleague", "pool"},
        {"own", "colleague", "pool"},
        {"own", "colleague"},
    )
    everything = {"own", "colleague", "far", "pool"}
    assert _seen(steward) == (everything, everything, everything)
    assert _seen(auditor) == (everything, everything, everything)


def test_the_assignee_keeps_a_ticket_after_the_customer_moves_on(world, rep, far_rep, steward):
    from customers.ownership import customers_assign

    own_customer = world["own"][1].customer
    customers_assign(actor=steward, customer_ids=[own_customer.pk], owner=far_rep)
    interactions, tickets, _tasks = _seen(rep)
    assert "own" not in interactions  # the customer is no longer rep1's
    assert "own" in tickets  # but the ticket given to rep1 is still theirs to finish


def test_a_deleted_customers_records_disappear(world, rep, own_customer, steward):
    from customers.services.lifecycle import customer_delete

    customer_delete(actor=steward, customer_id=own_customer.pk)
    assert _seen(rep) == ({"pool"}, {"pool"}, {"own"})  # the task stays with its assignee


def test_a_service_agent_serves_every_customer_without_editing_profiles(
    client, world, agent, far_customer, log, ticket_make
):
    from django.urls import reverse

    everything = {"own", "colleague", "far", "pool"}
    interactions, tickets, _tasks = _seen(agent)
    assert interactions == tickets == everything
    # Logs a call and handles a ticket for a customer owned by another team's rep…
    assert log(agent, far_customer, subject="售后回访").user == agent
    ticket = world["far"][1]
    from interactions.services.tickets import ticket_move

    assert ticket_move(actor=agent, ticket_id=ticket.pk, status="in_progress").status == (
        "in_progress"
    )
    # …from the pages too, but edits no customer and records no order.
    client.force_login(agent)
    page = client.get(far_customer.get_absolute_url()).content.decode()
    assert 'id="interaction-form"' in page and 'id="new-ticket"' in page
    assert 'id="edit-customer"' not in page and 'id="new-order"' not in page
    assert client.get(reverse("customers:update", args=[far_customer.pk])).status_code == 404
    response = client.get(reverse("interactions:ticket_create") + f"?customer={far_customer.pk}")
    assert response.status_code == 200


def test_a_service_agent_keeps_to_their_own_tasks_and_interactions(world, agent, rep):
    from django.core.exceptions import ValidationError

    from interactions.services.interactions import interaction_editable
    from interactions.services.tasks import task_complete

    _interactions, _tickets, tasks = _seen(agent)
    assert tasks == set()  # a rep's tasks are the rep's (and their manager's)
    own_task = world["own"][2]
    with pytest.raises(ValidationError):
        task_complete(actor=agent, task_id=own_task.pk)
    assert not interaction_editable(agent, world["own"][0])
