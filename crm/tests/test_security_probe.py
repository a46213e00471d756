"""What a security probe found: NUL bytes, ?page=last, the
account lock anyone could set off, the audit log's TRUNCATE, password rules and
password reset floods."""

from __future__ import annotations

import uuid

import pytest
from django.core import mail
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from crm.models import AuditEvent, Notification
from kehu.tests.fixtures import PASSWORD

pytestmark = pytest.mark.django_db


def _login(client, password, username="rep1", ip="10.0.0.1"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


# --- NUL bytes and ?page=last -------------------------------------------------------


def test_a_nul_byte_in_the_address_or_a_form_is_a_bad_request_not_a_server_error(client, rep):
    assert client.get("/s/%00abc/").status_code == 400  # the public survey link, anonymous
    client.force_login(rep)
    response = client.get(reverse("search"), {"q": "张\x00三"})
    assert response.status_code == 400
    assert "无法识别" in response.content.decode()
    form = "last_name=%E5%BC%A0%00&first_name=%E4%B8%89"
    posted = client.post(reverse("account"), form, content_type="application/x-www-form-urlencoded")
    assert posted.status_code == 400
    # A multipart form (a file upload's) is left to the form: its text fields refuse
    # the NUL next to the field.
    multipart = client.post(reverse("account"), {"last_name": "张\x00", "first_name": "三"})
    assert multipart.status_code == 200 and "last_name" in multipart.context["form"].errors
    rep.refresh_from_db()
    assert rep.last_name != "张\x00"


@pytest.mark.parametrize(
    "url_name",
    ["customers:list", "sales:order_list", "interactions:list", "sales:product_list"],
)
def test_page_last_on_a_list_that_never_counts_is_page_not_found(client, admin_user, url_name):
    client.force_login(admin_user)
    assert client.get(reverse(url_name), {"page": "last"}).status_code == 404
    assert client.get(reverse(url_name), {"page": "1"}).status_code == 200


def test_an_error_page_before_the_language_is_chosen_speaks_the_default_not_the_last_user(
    client, rep
):
    rep.language = "en"
    rep.save(update_fields=["language"])
    client.force_login(rep)
    assert "Hello" in client.get(reverse("home")).content.decode()
    from django.test import Client

    anonymous = Client()
    page = anonymous.get("/s/%00abc/").content.decode()  # answered before the language step
    assert "无法识别" in page and "cannot read" not in page


# --- the account lock ---------------------------------------------------------------


def test_the_real_user_gets_in_from_a_browser_they_used_before_while_others_stay_locked(
    client, rep, admin_user
):
    from django.test import Client

    assert _login(client, PASSWORD, ip="10.1.1.1").status_code == 302  # their own browser
    client.post(reverse("logout"))
    attacker = Client()
    for i in range(20):  # four tries per address: only the per-user lock closes
        _login(attacker, "nope", ip=f"172.16.{i // 4}.{i}")
    stranger = Client()
    refused = _login(stranger, PASSWORD, ip="192.168.9.9")
    assert refused.status_code == 200
    assert "locked" in {e.code for e in refused.context["form"].errors.as_data()["__all__"]}
    assert _login(client, PASSWORD, ip="10.9.9.9").status_code == 302  # from a new address
    told = Notification.objects.filter(kind="security")
    assert told.filter(recipient=rep).count() == 1
    assert "rep1" in told.get(recipient=admin_user).text
    assert "172.16.4.19" in told.get(recipient=rep).text


def test_a_forged_device_cookie_does_not_lift_the_lock(client, rep):
    from crm.auth import DEVICE_COOKIE

    for i in range(20):
        _login(client, "nope", ip=f"172.17.{i // 4}.{i}")
    client.cookies[DEVICE_COOKIE] = '["rep1"]:forged:signature'
    assert _login(client, PASSWORD, ip="192.168.9.8").status_code == 200


# --- the audit log --------------------------------------------------------------


def test_the_audit_log_refuses_truncate(db):
    AuditEvent.objects.create(action="create", actor_repr="probe")
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET LOCAL kehu.audit_truncate = ''")
        cursor.execute("TRUNCATE crm_auditevent")
    assert AuditEvent.objects.filter(actor_repr="probe").exists()


# --- passwords ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("rep1rep1", "至少"),  # Django's default accepted it
        ("short-pw9", "至少"),
        ("my-REP1-password", "用户名"),
        ("password123", "太常见"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(client, rep, password, reason):
    client.force_login(rep)
    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": password, "new_password2": password},
    )
    assert response.status_code == 200
    assert reason in " ".join(response.context["form"].errors["new_password2"])
    rep.refresh_from_db()
    assert rep.check_password(PASSWORD)


def test_password_reset_requests_are_limited_per_account_and_per_address(client, rep, settings):
    from crm.ratelimit import rate_limit_reset

    rate_limit_reset("password-reset-email", rep.email, window=3600)
    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.9"
    for __ in range(settings.PASSWORD_RESETS_PER_ACCOUNT):
        sent = client.post(reverse("password_reset"), {"email": rep.email}, REMOTE_ADDR=address)
        assert sent.status_code == 302
    flood = client.post(reverse("password_reset"), {"email": rep.email}, REMOTE_ADDR=address)
    assert flood.status_code == 200
    assert "请求过多" in " ".join(flood.context["form"].errors["email"])
    assert len(mail.outbox) == settings.PASSWORD_RESETS_PER_ACCOUNT
    settings.PASSWORD_RESETS_PER_ADDRESS = 1
    other = f"other-{uuid.uuid4().hex[:8]}@kehu.test"
    assert client.post(reverse("password_reset"), {"email": other}, REMOTE_ADDR="10.250.1.1")
    refused = client.post(
        reverse("password_reset"), {"email": other + "x"}, REMOTE_ADDR="10.250.1.1"
    )
    assert refused.status_code == 200
    rate_limit_reset("password-reset-email", rep.email, window=3600)


# --- phones and e-mails stay out of addresses ---------------------------------------


def test_the_top_bar_search_keeps_a_phone_out_of_the_address(client, rep):
    client.force_login(rep)
    response = client.post(reverse("search"), {"q": "138 0013 8000"})
    assert response.status_code == 302
    assert "138" not in response.url and "?k=" in response.url
    page = client.get(response.url)
    assert page.context["query"] == "138 0013 8000"
    assert client.get(reverse("search"), {"k": "someone-elses"}).context["query"] == ""
    from django.test import Client

    other = Client()
    other.force_login(rep)  # another session does not read this session's searches
    assert other.get(response.url).context["query"] == ""
