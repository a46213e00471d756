"""Surveys: the builder's rules, the personal link's life (open, answered once,
expired, closed, unknown, flooded), answers becoming feedback and bonus points,
e-mailed links in the invitation's language, and who may send and see what."""

from __future__ import annotations

import datetime
import threading
import uuid

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from feedback.loyalty import points_balance
from feedback.models import Feedback, Survey, SurveyAnswer, SurveyInvitation
from feedback.selectors import visible_invitations
from feedback.surveys.answering import survey_answer
from feedback.surveys.building import survey_save, survey_status_set
from feedback.surveys.sending import survey_invitations_email, survey_invite

QUESTIONS = [
    {"kind": "rating", "text_zh": "您对这次服务满意吗？", "text_en": "How satisfied are you?",
     "required": True},
    {"kind": "nps", "text_zh": "您有多大可能向朋友推荐我们？",
     "text_en": "How likely are you to recommend us?", "required": True},
    {"kind": "choice", "text_zh": "您最看重什么？", "text_en": "What matters most?",
     "choices_zh": "价格\n质量\n服务", "choices_en": "Price\nQuality\nService", "required": False},
    {"kind": "text", "text_zh": "还有什么想告诉我们的？", "text_en": "Anything else?",
     "required": False},
]  # fmt: skip
SURVEY = {"title_zh": "售后满意度调查", "title_en": "After-sales survey", "link_days": 14,
          "points_bonus": 20}  # fmt: skip


def _codes(excinfo) -> dict:
    return {name: [e.code for e in errors] for name, errors in excinfo.value.error_dict.items()}


@pytest.fixture
def survey(manager):
    survey = survey_save(actor=manager, data=SURVEY, questions=QUESTIONS)
    return survey_status_set(actor=manager, survey_id=survey.pk, status="open")


@pytest.fixture
def invitation(survey, rep, own_customer):
    return survey_invite(
        actor=rep, survey_id=survey.pk, customer_ids=[own_customer.pk]
    ).invitations[0]


def _answers(survey, rating="4", nps="9", choice="1", text="物流很快，包装完好"):
    questions = list(survey.questions.all())
    return {
        f"q{questions[0].pk}": rating,
        f"q{questions[1].pk}": nps,
        f"q{questions[2].pk}": choice,
        f"q{questions[3].pk}": text,
    }


def _client(client):
    """A client from an address of its own, so the rate limit counts this test alone."""
    client.defaults["REMOTE_ADDR"] = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7"
    return client


# --- builder -------------------------------------------------------------------


@pytest.mark.django_db
def test_the_builder_refuses_what_cannot_be_answered(manager, rep):
    with pytest.raises(ValidationError) as excinfo:
        survey_save(actor=manager, data={**SURVEY, "title_zh": "", "title_en": ""}, questions=[])
    assert _codes(excinfo) == {"title_zh": ["required"], "__all__": ["no_questions"]}
    bad = [
        {"kind": "choice", "text_zh": "选一个", "choices_zh": "只有一个"},
        {"kind": "choice", "text_zh": "选一个", "choices_zh": "甲\n乙", "choices_en": "A"},
        {"kind": "rating", "text_zh": "", "text_en": ""},
        {"kind": "slider", "text_zh": "滑动"},
    ]
    with pytest.raises(ValidationError) as excinfo:
        survey_save(actor=manager, data={**SURVEY, "link_days": 0}, questions=bad)
    assert _codes(excinfo) == {
        "link_days": ["out_of_range"],
        "questions-0-choices_zh": ["too_few"],
        "questions-1-choices_en": ["mismatch"],
        "questions-2-text_zh": ["required"],
        "questions-3-kind": ["invalid"],
    }
    with pytest.raises(ValidationError) as excinfo:
        survey_save(actor=rep, data=SURVEY, questions=QUESTIONS)  # reps send, they do not write
    assert excinfo.value.code == "forbidden"


@pytest.mark.django_db
def test_answered_questions_keep_their_kind_and_stay(manager, survey, invitation):
    survey_answer(token=invitation.token, data=_answers(survey))
    questions = list(survey.questions.all())
    changed = [
        {"id": questions[0].pk, **QUESTIONS[0], "kind": "text"},
        {"id": questions[1].pk, **QUESTIONS[1], "delete": True},
        {"id": questions[2].pk, **QUESTIONS[2], "text_en": "What matters most to you?"},
        {"id": questions[3].pk, **QUESTIONS[3]},
    ]
    with pytest.raises(ValidationError) as excinfo:
        survey_save(actor=manager, survey_id=survey.pk, data=SURVEY, questions=changed)
    assert _codes(excinfo) == {"questions-0-kind": ["answered"], "questions-1-delete": ["answered"]}
    changed[0]["kind"], changed[1]["delete"] = "rating", False
    changed[2]["choices_zh"] = "价格\n质量"  # 服务 dropped: stored answers would shift
    changed[2]["choices_en"] = "Price\nQuality"
    with pytest.raises(ValidationError) as excinfo:
        survey_save(actor=manager, survey_id=survey.pk, data=SURVEY, questions=changed)
    assert _codes(excinfo) == {"questions-2-choices_zh": ["answered"]}
    with pytest.raises(ValidationError) as excinfo:  # left out of the form: a removal too
        survey_save(actor=manager, survey_id=survey.pk, data=SURVEY, questions=changed[:2])
    assert _codes(excinfo)["__all__"] == ["answered"]
    changed[2]["choices_zh"] = "价格\n质量\n服务\n送货"  # added at the end: fine
    changed[2]["choices_en"] = "Price\nQuality\nService\nDelivery"
    survey_save(actor=manager, survey_id=survey.pk, data=SURVEY, questions=changed)
    assert survey.questions.get(pk=questions[2].pk).text_en == "What matters most to you?"
    assert SurveyAnswer.objects.count() == 4  # the answers are untouched


# --- the link's life -----------------------------------------------------------


@pytest.mark.django_db
def test_a_link_is_answered_once_and_becomes_feedback_with_bonus_points(
    client, survey, invitation, own_customer, rep
):
    client = _client(client)
    url = reverse("survey_answer", args=[invitation.token])
    page = client.get(url)
    assert page.status_code == 200
    assert "售后满意度调查" in page.content.decode()
    invitation.refresh_from_db()
    assert invitation.opened_at is not None and invitation.answered_at is None

    response = client.post(url, _answers(survey, text="<script>alert(1)</script>物流很快"))
    assert response.status_code == 302 and response["Location"].endswith("/thanks/")
    thanks = client.get(response["Location"])
    assert "感谢您的回答" in thanks.content.decode()
    assert "20" in thanks.content.decode()  # the bonus points

    feedback = Feedback.objects.get(customer=own_customer)
    assert (feedback.channel, feedback.rating, feedback.nps) == ("survey", 4, 9)
    assert feedback.text == "<script>alert(1)</script>物流很快"
    client.force_login(rep)
    detail = client.get(feedback.get_absolute_url()).content.decode()
    assert '您最看重什么？</dt><dd class="kehu-pre text-break">质量' in detail
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in detail and "<script>alert" not in detail
    client.logout()
    assert points_balance(own_customer) == 20
    invitation.refresh_from_db()
    assert invitation.feedback == feedback and invitation.answered_at is not None

    again = client.post(url, _answers(survey, rating="1"))
    assert again.status_code == 302 and again["Location"].endswith("/thanks/")
    assert Feedback.objects.count() == 1 and points_balance(own_customer) == 20
    assert client.get(url).status_code == 302  # the page itself says "thank you" now


@pytest.mark.django_db
def test_a_rating_of_eleven_or_a_missing_answer_is_refused_next_to_the_question(
    client, survey, invitation
):
    client = _client(client)
    url = reverse("survey_answer", args=[invitation.token]) + "?lang=en"
    response = client.post(url, _answers(survey, rating="", nps="11"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Please answer this question." in body
    assert "Choose a number from 0 to 10." in body
    assert Feedback.objects.count() == 0 and SurveyAnswer.objects.count() == 0
    with pytest.raises(ValidationError) as excinfo:  # the service checks on its own too
        survey_answer(token=invitation.token, data=_answers(survey, nps="11"))
    questions = list(survey.questions.all())
    assert _codes(excinfo) == {f"q{questions[1].pk}": ["out_of_range"]}
    invitation.refresh_from_db()
    assert invitation.answered_at is None


@pytest.mark.django_db
def test_expired_closed_and_unknown_links_say_so(client, manager, survey, invitation):
    client = _client(client)
    url = reverse("survey_answer", args=[invitation.token])
    SurveyInvitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    expired = client.get(url)
    assert expired.status_code == 410 and "链接已过期" in expired.content.decode()
    assert client.post(url, _answers(survey)).status_code == 410
    SurveyInvitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() + datetime.timedelta(days=1)
    )
    survey_status_set(actor=manager, survey_id=survey.pk, status="closed")
    closed = client.get(url + "?lang=en")
    assert closed.status_code == 410 and "This survey has ended." in closed.content.decode()
    unknown = client.get(reverse("survey_answer", args=["x" * 32]))
    assert unknown.status_code == 404 and "链接无效" in unknown.content.decode()
    assert Feedback.objects.count() == 0


@pytest.mark.django_db
@override_settings(SURVEY_HITS_PER_IP_HOUR=3)
def test_a_flood_from_one_address_is_asked_to_wait(client, survey, invitation):
    client = _client(client)
    url = reverse("survey_answer", args=[invitation.token])
    for __ in range(3):
        assert client.post(url, {}).status_code == 200  # empty answers, counted
    flooded = client.post(url, _answers(survey))
    assert flooded.status_code == 429 and "尝试次数过多" in flooded.content.decode()
    assert Feedback.objects.count() == 0
    guesses = [
        client.get(reverse("survey_answer", args=[f"{n:032d}"])).status_code for n in range(2)
    ]
    assert guesses == [429, 429]  # guessing tokens is a flood as well
    thanks = client.get(reverse("survey_thanks", args=["y" * 32]))
    assert thanks.status_code == 429  # on the thank-you address too


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_submissions_of_one_link_at_the_same_moment_make_one_feedback(
    manager, rep, own_customer
):
    survey = survey_save(actor=manager, data=SURVEY, questions=QUESTIONS)
    survey_status_set(actor=manager, survey_id=survey.pk, status="open")
    invitation = survey_invite(
        actor=rep, survey_id=survey.pk, customer_ids=[own_customer.pk]
    ).invitations[0]
    data = _answers(survey)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def submit():
        try:
            barrier.wait()
            survey_answer(token=invitation.token, data=data)
            outcomes.append("won")
        except Exception as exc:
            outcomes.append(getattr(exc, "reason", type(exc).__name__))
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for __ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["answered", "won"]  # the loser is told it was answered
    assert Feedback.objects.count() == 1 and SurveyAnswer.objects.count() == 4
    assert points_balance(own_customer) == 20


# --- sending -------------------------------------------------------------------


@pytest.mark.django_db
def test_a_customer_keeps_one_open_link_per_survey(survey, rep, own_customer):
    first = survey_invite(actor=rep, survey_id=survey.pk, customer_ids=[own_customer.pk])
    second = survey_invite(actor=rep, survey_id=survey.pk, customer_ids=[own_customer.pk])
    assert (first.created, second.created, second.already_open) == (1, 0, 1)
    assert second.invitations[0].token == first.invitations[0].token
    assert len(first.invitations[0].token) >= 32
    survey_answer(token=first.invitations[0].token, data=_answers(survey))
    third = survey_invite(actor=rep, survey_id=survey.pk, customer_ids=[own_customer.pk])
    assert third.created == 1 and third.invitations[0].token != first.invitations[0].token
    survey_answer(token=third.invitations[0].token, data=_answers(survey))
    assert Feedback.objects.count() == 2
    assert points_balance(own_customer) == 20  # the bonus comes once per survey


@pytest.mark.django_db
def test_who_may_send_to_whom(manager, survey, rep, own_customer, far_customer, pool_customer):
    with pytest.raises(ValidationError) as excinfo:
        survey_invite(actor=rep, survey_id=survey.pk, customer_ids=[far_customer.pk])
    assert excinfo.value.code == "forbidden"
    with pytest.raises(ValidationError) as excinfo:  # one customer out of reach: all refused
        survey_invite(
            actor=rep, survey_id=survey.pk, customer_ids=[own_customer.pk, pool_customer.pk]
        )
    assert excinfo.value.code == "forbidden" and SurveyInvitation.objects.count() == 0
    listed = survey_invite(  # a filtered list: the others are left out and counted
        actor=rep, survey_id=survey.pk, customer_ids=[own_customer.pk, pool_customer.pk],
        skip_others=True,
    )  # fmt: skip
    assert (listed.created, listed.skipped) == (1, 1)
    survey_status_set(actor=manager, survey_id=survey.pk, status="closed")
    with pytest.raises(ValidationError) as excinfo:
        survey_invite(actor=rep, survey_id=survey.pk, customer_ids=[own_customer.pk])
    assert _codes(excinfo) == {"survey": ["not_open"]}


@pytest.mark.django_db
def test_invitations_and_results_follow_the_customer(
    client, survey, rep, other_rep, far_rep, manager, auditor, own_customer, far_customer
):
    mine = survey_invite(actor=rep, survey_id=survey.pk, customer_ids=[own_customer.pk])
    far = survey_invite(actor=far_rep, survey_id=survey.pk, customer_ids=[far_customer.pk])
    survey_answer(token=far.invitations[0].token, data=_answers(survey, rating="1"))
    seen = {
        user.username: set(visible_invitations(user).values_list("customer_id", flat=True))
        for user in (rep, other_rep, manager, auditor)
    }
    assert seen == {
        rep.username: {own_customer.pk},
        other_rep.username: set(),
        manager.username: {own_customer.pk},
        auditor.username: {own_customer.pk, far_customer.pk},
    }
    client.force_login(rep)
    response = client.get(survey.get_absolute_url())
    page = response.content.decode()
    assert own_customer.name in page and far_customer.name not in page
    assert mine.invitations[0].token in page  # the rep's own link, to copy
    assert response.context["results"][0].answers == 0  # the far team's answer is not theirs
    assert response.context["counts"] == {"sent": 1, "opened": 0, "answered": 0}
    listed = client.get(reverse("feedback:survey_list"))
    assert listed.context["rows"] == [(survey, {"sent": 1, "opened": 0, "answered": 0})]
    client.force_login(auditor)
    response = client.get(survey.get_absolute_url())
    page = response.content.decode()
    assert far_customer.name in page and mine.invitations[0].token not in page  # no links to copy
    assert response.context["results"][0].answers == 1


@pytest.mark.django_db
def test_links_are_e_mailed_once_in_the_invitation_language(
    survey, rep, own_customer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = survey_invite(
            actor=rep, survey_id=survey.pk, customer_ids=[own_customer.pk], language="en",
            email=True, base_url="https://crm.example.com/",
        )  # fmt: skip
    assert len(callbacks) == 1  # the e-mail goes out once the links are committed
    ids = [invitation.pk for invitation in result.invitations]
    assert survey_invitations_email(ids, "https://crm.example.com/") == 1
    (message,) = mail.outbox
    assert message.to == ["zhangsan@example.com"]
    assert message.subject == "A few questions for you: After-sales survey"
    token = result.invitations[0].token
    assert f"https://crm.example.com/s/{token}/" in message.body
    assert f"https://crm.example.com/s/{token}/" in message.alternatives[0][0]
    assert survey_invitations_email(ids) == 0  # a retried task sends nothing twice


@pytest.mark.django_db
def test_the_send_page_sends_to_the_filtered_customer_list(client, survey, rep, customer_make):
    customers = [customer_make(rep, name=name) for name in ("上海甲", "上海乙", "北京丙")]
    client.force_login(rep)
    url = reverse("feedback:survey_send") + "?list=1&q=上海"
    page = client.get(url)
    assert page.status_code == 200 and "2 位" in page.content.decode()
    response = client.post(url, {"survey": survey.pk, "language": "zh-hans"})
    assert response.status_code == 302
    invited = set(SurveyInvitation.objects.values_list("customer_id", flat=True))
    assert invited == {customers[0].pk, customers[1].pk}


# --- the builder's page --------------------------------------------------------


def _builder_post(questions, **survey) -> dict:
    data = {
        "title_zh": "门店体验调查", "title_en": "", "intro_zh": "", "intro_en": "",
        "link_days": "7", "points_bonus": "0", "category": "", "version": "",
        "questions-TOTAL_FORMS": str(len(questions)), "questions-INITIAL_FORMS": "0",
        "questions-MIN_NUM_FORMS": "0", "questions-MAX_NUM_FORMS": "30",
        **survey,
    }  # fmt: skip
    for index, question in enumerate(questions):
        for name, value in question.items():
            data[f"questions-{index}-{name}"] = value
    return data


@pytest.mark.django_db
def test_the_builder_page_saves_questions_in_the_order_given_and_shows_errors_in_place(
    client, manager
):
    manager.language = "en"
    manager.save()
    client.force_login(manager)
    url = reverse("feedback:survey_create")
    assert client.get(url).status_code == 200
    bad = _builder_post([{"kind": "choice", "text_zh": "您从哪里知道我们？", "choices_zh": "朋友"}])
    response = client.post(url, bad)
    assert response.status_code == 200
    question_form = response.context["formset"].forms[0]
    assert question_form.errors["choices_zh"] == ["Give at least two choices, one per line."]
    good = _builder_post(
        [
            {"kind": "text", "text_zh": "还有什么建议？", "ORDER": "2", "required": ""},
            {"kind": "rating", "text_zh": "您对门店满意吗？", "ORDER": "1", "required": "on"},
            {"kind": "rating", "text_zh": "", "ORDER": ""},  # an empty extra form: ignored
        ]
    )
    response = client.post(url, good)
    assert response.status_code == 302
    (survey,) = Survey.objects.all()
    assert [(q.kind, q.text_zh, q.required) for q in survey.questions.all()] == [
        ("rating", "您对门店满意吗？", True),
        ("text", "还有什么建议？", False),
    ]
    assert survey.status == "draft" and survey.link_days == 7


@pytest.fixture
def mail_folder(monkeypatch, tmp_path):
    """Where a worker started after this fixture writes its e-mail (Django's file backend)."""
    folder = tmp_path / "mail"
    monkeypatch.setenv("EMAIL_URL", f"file:///{folder}")
    return folder


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_real_worker_e_mails_the_links_sent_from_the_send_page(
    client, manager, rep, own_customer, mail_folder, celery_worker_queue, monkeypatch
):
    import time

    from feedback.tasks import survey_invitations_email_task

    worker = celery_worker_queue
    survey = survey_save(actor=manager, data=SURVEY, questions=QUESTIONS)
    survey_status_set(actor=manager, survey_id=survey.pk, status="open")
    monkeypatch.setattr(  # the page enqueues on commit; here to the test worker's queue
        survey_invitations_email_task,
        "delay",
        lambda *args: survey_invitations_email_task.apply_async(args, queue=worker.queue),
    )
    client.force_login(rep)
    url = reverse("feedback:survey_send") + f"?customer={own_customer.pk}"
    response = client.post(url, {"survey": survey.pk, "language": "en", "email": "on"})
    assert response.status_code == 302
    invitation = SurveyInvitation.objects.get()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        invitation.refresh_from_db()
        if invitation.emailed_at is not None:
            break
        assert worker.poll() is None, worker.stdout.read()
        time.sleep(0.3)
    assert invitation.emailed_at is not None
    (sent,) = list(mail_folder.iterdir())
    text = sent.read_text()
    assert "To: zhangsan@example.com" in text
    assert "A few questions for you: After-sales survey" in text
    assert f"http://testserver/s/{invitation.token}/" in text
