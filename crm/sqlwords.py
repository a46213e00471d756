"""Translated texts written by SQL, for the jobs that word a notification or a task
for many people in one statement, each in their own language.

    params = {"words": words_json({"title": TASK_TITLE, "day_one": lambda: days_form(1)})}
    sql = f"SELECT {fill(\"w->>'title'\", customer='c.name')} FROM … , {words_of('u')} AS w"

The catalogue's texts keep their `%(name)s` placeholders; `fill` replaces them in
SQL. Plurals: a text's two forms are written as `<key>_one` and `<key>_other`
and `plural` picks one by the number, which is right for English and Chinese
(settings.LANGUAGES); a language with more forms would need more keys.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

from django.conf import settings
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext


def words_json(texts: Mapping[str, str | Promise | Callable[[], str]]) -> str:
    """{language: {key: text}} as JSON, for the %(words)s parameter of words_of.
    A text is a lazy translation, a msgid marked with gettext_noop, or a
    callable rendering it (for ngettext's forms)."""
    words = {}
    for code, __ in settings.LANGUAGES:
        with translation.override(code):
            words[code] = {
                key: text() if callable(text) else gettext(text) if isinstance(text, str)
                else str(text)
                for key, text in texts.items()
            }  # fmt: skip
    return json.dumps(words, ensure_ascii=False)


def words_of(user: str) -> str:
    """SQL: the words in the language of the user row `user` (the site's default
    for a language without words); params %(words)s and %(fallback)s."""
    return f"coalesce(%(words)s::jsonb -> {user}.language, %(words)s::jsonb -> %(fallback)s)"


def words_params(texts: Mapping) -> dict:
    return {"words": words_json(texts), "fallback": settings.LANGUAGE_CODE}


def fill(template: str, **values: str) -> str:
    """SQL: `template` (an SQL text expression) with each %(name)s replaced by the
    SQL expression given for it, in the order given: put the users' own data
    (names, titles) last, so none of it is taken for a placeholder."""
    for name, value in values.items():
        template = f"replace({template}, '%%({name})s', ({value})::text)"
    return template


def record_link(name: str) -> str:
    """The URL `name` of any record, `{id}` standing for its id (SQL fills it in
    with replace(…, '{id}', id::text))."""
    from django.urls import reverse

    return reverse(name, args=[1234567890]).replace("1234567890", "{id}")


def plural(words: str, key: str, number: str) -> str:
    """SQL: the form of the text `key` for the number `number`."""
    return f"CASE WHEN ({number}) = 1 THEN {words}->>'{key}_one' ELSE {words}->>'{key}_other' END"


def local_text(expr: str, pattern: str) -> str:
    """SQL: the moment `expr` as text in the site's time zone (param %(tz)s),
    formatted by the to_char `pattern`."""
    return f"to_char(({expr}) AT TIME ZONE %(tz)s, '{pattern}')"


def compose(sql: str, **pieces: str) -> str:
    """`sql` with each {name} replaced by its piece of SQL."""
    for name, piece in pieces.items():
        sql = sql.replace("{" + name + "}", piece)
    return sql
