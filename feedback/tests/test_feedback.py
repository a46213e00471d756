"""Feedback recorded, handled and read: the rules, scoping, the inbox and safe
rendering, on real PostgreSQL."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from crm.models import AuditEvent
from customers.timeline import customer_timeline
from feedback.models import Feedback, FeedbackCategory
from feedback.selectors import visible_feedback
from feedback.services import feedback_handle

pytestmark = pytest.mark.django_db
SCRIPT = "<script>alert('x')</script>"


def _errors(excinfo) -> dict:
    return {name: [e.code for e in errors] for name, errors in excinfo.value.error_dict.items()}


def test_scores_out_of_range_are_refused_and_nothing_is_written(rep, own_customer, feedback_make):
    with pytest.raises(ValidationError) as excinfo:
        feedback_make(rep, own_customer, rating=11, nps="十")
    assert _errors(excinfo) == {"rating": ["out_of_range"], "nps": ["out_of_range"]}
    with pytest.raises(ValidationError) as excinfo:
        feedback_make(rep, own_customer)
    assert _errors(excinfo) == {"text": ["empty"]}
    assert not Feedback.objects.exists()


def test_feedback_with_its_order_category_and_audit(
    rep, own_customer, far_customer, feedback_make, order_make, headphones
):
    mine = order_make(own_customer, [(headphones, 1, "299.00", None)])
    theirs = order_make(far_customer, [(headphones, 1, "299.00", None)])
    with pytest.raises(ValidationError) as excinfo:
        feedback_make(rep, own_customer, rating=2, order=theirs.pk)
    assert _errors(excinfo) == {"order": ["invalid"]}
    quality = FeedbackCategory.objects.get(name_en="Product quality")
    feedback = feedback_make(
        rep, own_customer, rating=2, nps=3, category=quality, order=mine.pk, text="耳机有杂音"
    )
    assert (feedback.order, feedback.category, feedback.is_detractor) == (mine, quality, True)
    event = AuditEvent.objects.get(
        target_type__model="feedback", target_id=str(feedback.pk), action="create"
    )
    assert event.changes["text"] == ["", "***"] and event.changes["nps"] == [None, 3]


def test_resolving_needs_the_response_and_moves_follow_the_workflow(
    rep, own_customer, feedback_make
):
    feedback = feedback_make(rep, own_customer, rating=1, text="送货太慢")
    with pytest.raises(ValidationError) as excinfo:
        feedback_handle(actor=rep, feedback_id=feedback.pk, status="resolved")
    assert _errors(excinfo) == {"response": ["required"]}
    feedback_handle(actor=rep, feedback_id=feedback.pk, status="acknowledged")
    resolved = feedback_handle(
        actor=rep, feedback_id=feedback.pk, status="resolved", response="已致歉并补发优惠券"
    )
    assert (resolved.status, resolved.handled_by, resolved.version) == ("resolved", rep, 3)
    with pytest.raises(ValidationError) as excinfo:
        feedback_handle(actor=rep, feedback_id=feedback.pk, status="new")
    assert _errors(excinfo) == {"status": ["bad_move"]}


def test_feedback_follows_the_customer(
    rep, far_rep, manager, auditor, agent, own_customer, far_customer, feedback_make, steward
):
    mine = feedback_make(rep, own_customer, text="好")
    theirs = feedback_make(far_rep, far_customer, text="差")
    assert set(visible_feedback(rep)) == {mine}
    assert set(visible_feedback(far_rep)) == {theirs}
    assert set(visible_feedback(manager)) == {mine}
    for everyone in (auditor, agent, steward):
        assert set(visible_feedback(everyone)) == {mine, theirs}
    with pytest.raises(ValidationError):
        feedback_handle(actor=far_rep, feedback_id=mine.pk, status="acknowledged")
    with pytest.raises(ValidationError):
        feedback_handle(actor=auditor, feedback_id=mine.pk, status="acknowledged")


def test_the_inbox_lists_unhappy_customers_without_a_response(
    client, rep, own_customer, feedback_make
):
    unhappy = feedback_make(rep, own_customer, nps=4, text=f"太差{SCRIPT}")
    feedback_make(rep, own_customer, nps=9, text="很好")
    answered = feedback_make(rep, own_customer, rating=1, text="一般")
    feedback_handle(actor=rep, feedback_id=answered.pk, status="resolved", response="已回电")
    client.force_login(rep)
    response = client.get(reverse("feedback:list") + "?detractors=on")
    assert [f.pk for f in response.context["page_obj"]] == [unhappy.pk]
    body = response.content.decode()
    assert SCRIPT not in body and "&lt;script&gt;" in body
    page = client.get(unhappy.get_absolute_url()).content.decode()
    assert SCRIPT not in page and "&lt;script&gt;" in page


def test_recorded_from_the_customer_page_it_shows_in_the_timeline(client, rep, own_customer):
    client.force_login(rep)
    url = reverse("feedback:create") + f"?customer={own_customer.pk}"
    assert client.get(url).status_code == 200
    response = client.post(url, {"channel": "review", "rating": "5", "nps": "10", "text": "很满意"})
    assert response.status_code == 302
    feedback = Feedback.objects.get()
    entries = customer_timeline(rep, own_customer).entries
    created = own_customer.ownership_changes.get()  # the customer's first owner, before
    assert [(e.kind, e.item.pk) for e in entries] == [
        ("feedback", feedback.pk),
        ("ownership", created.pk),
    ]
    assert "很满意" in client.get(own_customer.get_absolute_url()).content.decode()


def test_a_bad_score_from_the_page_stands_next_to_its_field(client, rep, own_customer):
    rep.language = "en"
    rep.save(update_fields=["language"])
    client.force_login(rep)
    url = reverse("feedback:create") + f"?customer={own_customer.pk}"
    response = client.post(url, {"channel": "phone", "nps": "11"})
    assert "Give a whole number from 0 to 10." in response.content.decode()
    assert not Feedback.objects.exists()


def test_a_colleagues_customer_answers_not_found(client, rep, colleague_customer, feedback_make,
                                                 other_rep):  # fmt: skip
    theirs = feedback_make(other_rep, colleague_customer, text="x")
    client.force_login(rep)
    assert client.get(theirs.get_absolute_url()).status_code == 404
    url = reverse("feedback:create") + f"?customer={colleague_customer.pk}"
    assert client.get(url).status_code == 404
    response = client.post(reverse("feedback:handle", args=[theirs.pk]), {"status": "resolved"})
    assert response.status_code == 404


def test_the_audit_log_names_feedback_without_quoting_what_the_customer_wrote(
    rep, own_customer, feedback_make, ticket_make
):
    from interactions.services.tickets import ticket_comment

    said = "物流太慢了，再也不买了 13800138000"
    feedback = feedback_make(rep, own_customer, text=said, rating=1)
    events = AuditEvent.objects.filter(target_id=str(feedback.pk), changes__has_key="text")
    assert events.count() == 1
    event = events.get()
    assert "物流" not in event.target_repr and str(feedback.pk) in event.target_repr
    assert event.changes["text"] == ["", "***"]
    ticket = ticket_make(rep, own_customer)
    ticket_comment(actor=rep, ticket_id=ticket.pk, body="客户说家里地址是幸福路 8 号")
    assert not AuditEvent.objects.filter(target_repr__contains="幸福路").exists()
