"""Every page speaks one language: each demo role's pages, in
Chinese and in English, hold no interface text of the other language. Interface
text is what the catalogues hold: in the Chinese pages no English sentence of the
catalogue (three words or more) may show, in the English pages no Chinese
translation (four characters or more); the demo's customer data may be either."""

from __future__ import annotations

import gettext
import html
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from kehu.tests.fixtures import PASSWORD

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[1]
PLACEHOLDER = re.compile(r"%(\([^)]*\))?[sd]|\{[^}]*\}")
ROLES = ["rep1", "manager", "steward", "service", "auditor", "admin"]


def _catalogue() -> tuple[set[str], set[str]]:
    """(English sentences, their Chinese translations) safe to look for in a page."""
    english, chinese = set(), set()
    with (ROOT / "locale/zh_Hans/LC_MESSAGES/django.mo").open("rb") as file:
        catalogue = gettext.GNUTranslations(file)._catalog
    for key, translated in catalogue.items():
        msgid = key[0] if isinstance(key, tuple) else key  # plural entries: (msgid, n)
        msgid = msgid.split("\x04")[-1]  # without its context
        if not msgid or not translated or PLACEHOLDER.search(msgid):
            continue
        if len(msgid.split()) >= 3 and "\n" not in msgid:
            english.add(msgid)
        if len(re.findall(r"[\u4e00-\u9fff]", translated)) >= 4 and "\n" not in translated:
            chinese.add(translated)
    return english, chinese


def _text(page: str) -> str:
    """What a reader sees and hears: the text, titles, labels and placeholders."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    said = re.findall(r'(?:title|placeholder|aria-label|alt)="([^"]*)"', page)
    text = re.sub(r"<[^>]+>", " ", page)
    return html.unescape(" ".join([text, *said]))


def _pages(client, user) -> list[str]:
    from crm.navigation import navigation_for

    client.force_login(user)
    urls = [
        entry["url"]
        for section in navigation_for(user, "/")
        for entry in section["items"]
        if not entry["url"].startswith("/admin/")
    ]
    return [reverse("home"), *dict.fromkeys(urls)]


@pytest.fixture
def demo(db):
    call_command("seed_demo", customers=30, password=PASSWORD, force=True, verbosity=0)
    from crm.models import User

    return {user.username: user for user in User.objects.all()}


def _data() -> str:
    """The demo's own words (titles, subjects, next steps typed, and what the jobs
    wrote for people in the language they had then: task notes, notifications):
    data, not interface."""
    from crm.models import Notification
    from interactions.models import Interaction, ServiceTicket, Task
    from sales.models import Contract, Opportunity

    texts = [
        *Task.objects.values_list("title", "notes"),
        *Notification.objects.values_list("text", flat=True),
        *Interaction.objects.values_list("subject", flat=True),
        *ServiceTicket.objects.values_list("subject", flat=True),
        *Opportunity.objects.values_list("title", "next_step"),
        *Contract.objects.values_list("title", flat=True),
    ]
    return " ".join(" ".join(t) if isinstance(t, tuple) else t for t in texts)


@pytest.mark.parametrize("username", ROLES)
def test_every_page_in_one_language(client, demo, username):
    english, chinese = _catalogue()
    data = _data()
    english = {text for text in english if text not in data}
    chinese = {text for text in chinese if text not in data}
    user = demo[username]
    problems = []
    for language, foreign in (("zh-hans", english), ("en", chinese)):
        user.language = language
        user.save(update_fields=["language"])
        for url in _pages(client, user):
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            text = _text(response.content.decode())
            problems += [f"{language} {url}: {found!r}" for found in foreign if found in text]
    assert not problems, "\n".join(sorted(problems))


def test_sort_menus_speak_the_readers_language(client, demo):
    rep = demo["rep1"]
    client.force_login(rep)
    for language, wanted, foreign in (
        ("zh-hans", "姓名（降序）", "(descending)"),
        ("en", "Name (descending)", "（降序）"),
    ):
        rep.language = language
        rep.save(update_fields=["language"])
        page = client.get(reverse("customers:list")).content.decode()
        assert wanted in page and foreign not in page, language
        churn = client.get(reverse("segmentation:churn")).content.decode()
        assert foreign not in churn, language
