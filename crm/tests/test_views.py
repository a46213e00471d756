"""The shell: greeting, navigation, bell, language, security headers, errors."""

import pytest
from django.urls import reverse
from django.utils.translation import gettext_lazy

from crm.models import AuditAction, AuditEvent, Notification
from crm.services import notify

pytestmark = pytest.mark.django_db


def test_home_greets_with_role_and_team_in_a_fixed_number_of_queries(
    client, rep, django_assert_max_num_queries
):
    client.force_login(rep)
    # The workbench's blocks included: tests/test_workbench.py holds every role's
    # budget with data; a rep without any is far below it.
    with django_assert_max_num_queries(30):
        response = client.get(reverse("home"))
    body = response.content.decode()
    assert "李娜" in body
    assert "销售代表" in body
    assert "华东销售一组" in body


def test_anonymous_visitor_is_sent_to_login_in_chinese(client):
    response = client.get(reverse("home"), follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("login"))
    assert response.headers["Content-Language"] == "zh-hans"
    assert "登录" in response.content.decode()


def test_language_switch_is_kept_on_the_profile(client, rep):
    client.force_login(rep)
    response = client.post(reverse("set_language"), {"language": "en", "next": reverse("home")})
    assert response.url == reverse("home")
    rep.refresh_from_db()
    assert rep.language == "en"
    page = client.get(reverse("home"))
    assert page.headers["Content-Language"] == "en"
    assert "Sales rep" in page.content.decode()


def test_language_switch_refuses_an_outside_next(client, rep):
    client.force_login(rep)
    response = client.post(
        reverse("set_language"), {"language": "en", "next": "https://evil.example/"}
    )
    assert response.url == reverse("home")


def test_security_headers_on_every_page(client, rep):
    client.force_login(rep)
    response = client.get(reverse("home"))
    csp = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "no-store" in response.headers["Cache-Control"]


def test_no_inline_script_or_style_in_the_shell(client, rep):
    client.force_login(rep)
    body = client.get(reverse("home")).content.decode()
    assert "<script>" not in body
    assert "style=" not in body
    assert "<style" not in body


def test_bell_shows_the_unread_count_and_opening_marks_read(client, rep):
    notify(recipient=rep, text=gettext_lazy("Your profile is saved."), link=reverse("account"))
    notify(recipient=rep, text="第二条")
    client.force_login(rep)
    assert 'data-testid="unread-count">2<' in client.get(reverse("home")).content.decode()
    note = Notification.objects.filter(recipient=rep).exclude(link="").get()
    response = client.post(reverse("notification_open", args=[note.pk]))
    assert response.url == reverse("account")
    assert 'data-testid="unread-count">1<' in client.get(reverse("home")).content.decode()
    client.post(reverse("notification_read_all"))
    assert "unread-count" not in client.get(reverse("home")).content.decode()


def test_notification_text_is_in_the_recipients_language(rep, other_rep):
    other_rep.language = "en"
    other_rep.save()
    lazy = gettext_lazy("Your profile is saved.")
    assert notify(recipient=other_rep, text=lazy).text == "Your profile is saved."
    assert notify(recipient=rep, text=lazy).text != "Your profile is saved."


def test_notification_link_must_stay_on_site(rep):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as exc:
        notify(recipient=rep, text="x", link="https://evil.example/")
    assert exc.value.code == "link"


def test_profile_form_reports_a_bad_mobile_next_to_the_field(client, rep):
    client.force_login(rep)
    response = client.post(
        reverse("account"),
        {
            "last_name": "李",
            "first_name": "娜",
            "email": "li@kehu.test",
            "mobile": "12ab",
            "language": "zh-hans",
            "notify_by": "digest",
        },
    )
    assert response.status_code == 200
    assert "mobile" in response.context["form"].errors
    rep.refresh_from_db()
    assert rep.mobile == ""


def test_profile_save_normalises_and_audits(client, rep):
    client.force_login(rep)
    response = client.post(
        reverse("account"),
        {
            "last_name": "李",
            "first_name": "娜",
            "email": " Li.Na@Kehu.TEST ",
            "mobile": "138 0013 8000",
            "language": "zh-hans",
            "notify_by": "digest",
        },
    )
    assert response.status_code == 302
    rep.refresh_from_db()
    assert (rep.email, rep.mobile) == ("li.na@kehu.test", "+8613800138000")
    assert AuditEvent.objects.filter(action=AuditAction.UPDATE, target_id=str(rep.pk)).exists()


def test_navigation_hides_what_the_role_may_not_use(client, rep, auditor):
    client.force_login(rep)
    body = client.get(reverse("home")).content.decode()
    assert reverse("audit_list") not in body
    assert reverse("admin:index") not in body
    client.force_login(auditor)
    assert reverse("audit_list") in client.get(reverse("home")).content.decode()


def test_audit_page_for_auditors_only(client, rep, auditor):
    client.force_login(rep)
    assert client.get(reverse("audit_list")).status_code == 403
    client.force_login(auditor)
    response = client.get(reverse("audit_list"), {"action": AuditAction.LOGIN})
    assert response.status_code == 200


def test_unknown_page_is_a_friendly_404(client, rep):
    client.force_login(rep)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "Traceback" not in response.content.decode()


DEAD_REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 1},
    }
}


def test_log_in_works_while_redis_is_down(rep, settings):
    from django.test import Client

    from kehu.tests.fixtures import PASSWORD

    settings.CACHES = DEAD_REDIS
    client = Client()
    response = client.post(reverse("login"), {"username": "rep1", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200


def test_signed_in_people_keep_working_while_redis_is_down(client, rep, settings):
    client.force_login(rep)
    settings.CACHES = DEAD_REDIS
    assert client.get(reverse("home")).status_code == 200
