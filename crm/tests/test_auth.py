"""Log-in throttling, session lifetime, disabled users, password reset."""

import datetime
import time

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from crm.middleware import LAST_SEEN_KEY
from crm.models import AuditAction, AuditEvent, LoginFailure
from crm.signals import SESSION_STARTED_KEY
from kehu.tests.fixtures import PASSWORD

pytestmark = pytest.mark.django_db


def _login(client, password, username="rep1", ip="10.0.0.1"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def _error_codes(response) -> set[str]:
    form = response.context["form"]
    return {error.code for error in form.errors.as_data().get("__all__", [])}


def _logged_in(client) -> bool:
    return client.get(reverse("home")).status_code == 200


def test_wrong_password_says_so_and_logs_nobody_in(client, rep):
    response = _login(client, "nope")
    assert response.status_code == 200
    assert _error_codes(response) == {"invalid_login"}
    assert not _logged_in(client)


def test_five_failures_lock_the_username_from_that_address_even_for_the_right_password(client, rep):
    for _ in range(5):
        _login(client, "nope")
    response = _login(client, PASSWORD)
    assert _error_codes(response) == {"locked"}
    assert not _logged_in(client)


def test_the_fifth_failure_already_says_locked(client, rep):
    for _ in range(4):
        assert _error_codes(_login(client, "nope")) == {"invalid_login"}
    assert _error_codes(_login(client, "nope")) == {"locked"}


def test_pair_lock_does_not_block_another_address(client, rep):
    for _ in range(5):
        _login(client, "nope", ip="10.0.0.1")
    assert _login(client, PASSWORD, ip="10.0.0.2").status_code == 302


def test_twenty_failures_in_an_hour_lock_the_username_everywhere(client, rep):
    for i in range(20):
        _login(client, "nope", ip=f"10.0.{i // 4}.{i}")  # four tries per address: no pair lock
    response = _login(client, PASSWORD, ip="192.168.9.9")
    assert _error_codes(response) == {"locked"}


def test_attempts_while_locked_are_not_counted_so_the_cooloff_ends_on_time(client, rep):
    for _ in range(5):
        _login(client, "nope")
    for _ in range(3):
        _login(client, "nope")
    assert LoginFailure.objects.count() == 5


def test_lock_lifts_after_the_cooloff(client, rep, settings):
    for _ in range(5):
        _login(client, "nope")
    LoginFailure.objects.update(
        created_at=timezone.now() - datetime.timedelta(minutes=settings.LOGIN_COOLOFF_MINUTES + 1)
    )
    assert _login(client, PASSWORD).status_code == 302


def test_admin_unlocks_from_the_user_list(client, admin_client, rep):
    for _ in range(5):
        _login(client, "nope")
    response = admin_client.post(
        reverse("admin:crm_user_changelist"),
        {"action": "unlock_login", "_selected_action": [rep.pk]},
    )
    assert response.status_code == 302
    assert _login(client, PASSWORD).status_code == 302
    assert AuditEvent.objects.filter(
        action=AuditAction.UPDATE, target_id=str(rep.pk), changes__has_key="login_lock"
    ).exists()


def test_admin_login_is_throttled_too(client, admin_user):
    for _ in range(5):
        client.post(reverse("admin:login"), {"username": "admin", "password": "nope"})
    response = client.post(reverse("admin:login"), {"username": "admin", "password": PASSWORD})
    assert response.status_code == 200
    assert client.get("/admin/").status_code != 200


def test_success_clears_the_pair_count(client, rep):
    for _ in range(4):
        _login(client, "nope")
    assert _login(client, PASSWORD).status_code == 302
    client.post(reverse("logout"))
    for _ in range(4):
        _login(client, "nope")
    assert _login(client, PASSWORD).status_code == 302


def _age_session(client, key, seconds):
    session = client.session
    session[key] = int(time.time()) - seconds
    session.save()


def test_session_ends_after_idle_time(client, rep, settings):
    _login(client, PASSWORD)
    _age_session(client, LAST_SEEN_KEY, settings.SESSION_IDLE_MINUTES * 60 + 5)
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_idle_log_out_is_explained_in_the_users_language(client, rep, settings):
    rep.language = "en"
    rep.save(update_fields=["language"])
    _login(client, PASSWORD)
    _age_session(client, LAST_SEEN_KEY, settings.SESSION_IDLE_MINUTES * 60 + 5)
    response = client.get(reverse("home"), follow=True)
    assert "You were logged out after a period of inactivity." in response.content.decode()


def test_activity_keeps_the_session_alive(client, rep, settings):
    _login(client, PASSWORD)
    _age_session(client, LAST_SEEN_KEY, settings.SESSION_IDLE_MINUTES * 60 - 60)
    assert client.get(reverse("home")).status_code == 200
    assert client.get(reverse("home")).status_code == 200


def test_session_ends_after_the_absolute_limit_even_when_active(client, rep, settings):
    _login(client, PASSWORD)
    _age_session(client, SESSION_STARTED_KEY, settings.SESSION_MAX_HOURS * 3600 + 5)
    assert client.get(reverse("home")).status_code == 302


def test_session_cookie_expires_with_the_idle_limit(client, rep, settings):
    response = _login(client, PASSWORD)
    assert response.cookies["sessionid"]["max-age"] == settings.SESSION_IDLE_MINUTES * 60


def test_disabled_users_session_ends_at_once(client, rep):
    _login(client, PASSWORD)
    assert _logged_in(client)
    rep.is_active = False
    rep.save(update_fields=["is_active"])
    assert not _logged_in(client)


def test_password_change_logs_out_other_sessions(client, rep):
    from django.test import Client

    other = Client()
    _login(other, PASSWORD)
    _login(client, PASSWORD)
    client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "a-much-Better-pw-2026",
            "new_password2": "a-much-Better-pw-2026",
        },
    )
    assert _logged_in(client)
    assert not _logged_in(other)


def test_password_reset_sends_a_working_link(client, rep):
    response = client.post(reverse("password_reset"), {"email": rep.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = next(line for line in mail.outbox[0].body.splitlines() if "/password/reset/" in line)
    path = link.split("://", 1)[1].split("/", 1)[1]
    response = client.get("/" + path, follow=True)
    assert response.context["validlink"] is True
    response = client.post(
        response.redirect_chain[-1][0],
        {"new_password1": "Fresh-pw-2026-ok", "new_password2": "Fresh-pw-2026-ok"},
    )
    assert response.status_code == 302
    assert _login(client, "Fresh-pw-2026-ok").status_code == 302


def test_expired_reset_link_says_so_and_offers_a_new_one(client, rep, settings):
    uid = urlsafe_base64_encode(force_bytes(rep.pk))
    token = default_token_generator.make_token(rep)
    settings.PASSWORD_RESET_TIMEOUT = -1
    response = client.get(reverse("password_reset_confirm", args=[uid, token]))
    assert response.status_code == 200
    assert response.context["validlink"] is False
    assert reverse("password_reset") in response.content.decode()


def test_reset_for_unknown_address_reveals_nothing(client, rep):
    response = client.post(reverse("password_reset"), {"email": "nobody@nowhere.test"})
    assert response.status_code == 302
    assert len(mail.outbox) == 0
