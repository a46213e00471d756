"""Notifications by e-mail (crm.mail), as each person chose: at once, in a daily
digest, or not at all; in their language; once; one person's failure recorded
while the others get theirs."""

from __future__ import annotations

import datetime

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.urls import reverse
from django.utils import timezone

from crm.jobs import job_run
from crm.mail import email_digest, email_immediately
from crm.models import Notification, NotifyBy
from crm.services import lazy_format, notify

pytestmark = pytest.mark.django_db

SITE = "https://crm.example.com"


@pytest.fixture(autouse=True)
def site(settings):
    settings.SITE_URL = SITE


def _prefer(user, notify_by, language="zh-hans"):
    user.notify_by, user.language = notify_by, language
    user.save(update_fields=["notify_by", "language"])
    return user


@pytest.fixture
def people(rep, other_rep, manager, make_user):
    from django.utils.translation import gettext_lazy as _

    at_once = _prefer(rep, NotifyBy.IMMEDIATE)
    digest = _prefer(other_rep, NotifyBy.DIGEST, "en")
    bell_only = _prefer(manager, NotifyBy.IN_APP)
    no_address = make_user("noaddress", "sales_rep")
    no_address.email = ""
    _prefer(no_address, NotifyBy.IMMEDIATE)
    no_address.save(update_fields=["email"])
    for person in (at_once, digest, bell_only, no_address):
        notify(recipient=person, text=_("Your profile is saved."), link=reverse("account"))
        notify(recipient=person, text=lazy_format(_("Hello %(name)s,"), {"name": "王"}))
    return at_once, digest, bell_only


def test_those_who_want_them_at_once_get_one_email_in_their_language(people):
    at_once, __, __ = people
    assert email_immediately(timezone.localdate()) == {
        "emails": 1, "notifications": 2, "failed": 0,
    }  # fmt: skip
    (message,) = mail.outbox
    assert message.to == [at_once.email]
    assert message.subject == "客户 CRM：2 条新通知"
    assert "个人资料已保存。" in message.body and f"{SITE}/account/" in message.body
    assert "王，您好：" in message.body
    assert "“邮件，即时发送”" in message.body  # why they get it, and where to change it
    html = message.alternatives[0][0]
    assert f'<a href="{SITE}/account/">个人资料已保存。</a>' in html
    # Once: a second sweep sends nothing, a new notification goes out on its own.
    assert email_immediately(timezone.localdate())["emails"] == 0
    notify(recipient=at_once, text="新的提醒")
    email_immediately(timezone.localdate())
    assert len(mail.outbox) == 2 and mail.outbox[1].subject == "客户 CRM：1 条新通知"


def test_the_digest_gathers_the_day_in_one_email_in_english(people):
    __, digest, __ = people
    notify(recipient=digest, text="Already read in the app")
    Notification.objects.filter(text="Already read in the app").update(read_at=timezone.now())
    assert email_digest(timezone.localdate())["emails"] == 1
    (message,) = mail.outbox
    assert message.to == [digest.email]
    assert message.subject == "Kehu CRM: your daily digest, 2 notifications"
    assert "Here is what happened since the last digest:" in message.body
    assert "Your profile is saved." in message.body and "Hello 王," in message.body
    assert "Already read in the app" not in message.body
    assert email_digest(timezone.localdate())["emails"] == 0


def test_nobody_gets_email_who_chose_the_bell_and_old_ones_stay_in_the_bell(people):
    __, __, bell_only = people
    email_immediately(timezone.localdate())
    email_digest(timezone.localdate())
    assert [m.to for m in mail.outbox if bell_only.email in m.to] == []
    # A week-old notification is not e-mailed to someone who switches to e-mail now.
    Notification.objects.filter(recipient=bell_only).update(
        created_at=timezone.now() - datetime.timedelta(days=7)
    )
    _prefer(bell_only, NotifyBy.DIGEST)
    assert email_digest(timezone.localdate())["emails"] == 0


class RefusingBackend(EmailBackend):
    """The mail server refuses one address."""

    def send_messages(self, messages):
        for message in messages:
            if "rep1@" in message.to[0]:
                raise ConnectionRefusedError("550 mailbox unavailable")
        return super().send_messages(messages)


def test_one_persons_failure_is_recorded_and_the_others_are_sent(people, settings, make_user):
    settings.EMAIL_BACKEND = "crm.tests.test_mail.RefusingBackend"
    other = _prefer(make_user("rep9", "sales_rep"), NotifyBy.IMMEDIATE)
    notify(recipient=other, text="给 rep9 的提醒")
    run = job_run("email_notifications")
    assert run.counts == {"emails": 1, "notifications": 1, "failed": 1}
    assert [m.to for m in mail.outbox] == [[other.email]]
    assert run.error == "e-mail to rep1: ConnectionRefusedError: 550 mailbox unavailable"
    assert Notification.objects.filter(recipient__username="rep1", emailed_at=None).count() == 2
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert job_run("email_notifications").counts["emails"] == 1  # the next minute


def test_a_minutes_run_that_sent_nothing_leaves_no_record(db):
    from crm.models import JobRun

    job_run("email_notifications")
    assert not JobRun.objects.filter(job="email_notifications").exists()


def test_the_profile_page_offers_the_three_ways(client, rep):
    client.force_login(rep)
    page = client.get(reverse("account")).content.decode()
    assert "仅在系统内" in page and "邮件，每日汇总" in page and "邮件，即时发送" in page
    data = {"last_name": "李", "first_name": "娜", "email": rep.email, "mobile": "",
            "language": "zh-hans", "notify_by": "immediate"}  # fmt: skip
    client.post(reverse("account"), data)
    rep.refresh_from_db()
    assert rep.notify_by == NotifyBy.IMMEDIATE
    refused = client.post(reverse("account"), {**data, "notify_by": "pigeon"})
    assert "选择一个有效的选项" in refused.content.decode()
