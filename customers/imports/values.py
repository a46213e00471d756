"""Mapping a register's values (docs/user-guide.en.md): for every choice-like column, each
distinct value with its count and a suggestion — Kehu's own words first, then what
this company mapped before, then the closest word — and the steward's decisions,
which imports apply and the next import suggests again.

A decision is a target per value, keyed by `clean.value_key(text)`: a choice's code
(a source channel's code, "male"…), clean.YES / clean.NO for the yes-or-no columns,
clean.NEW_SOURCE to add the value as a new source channel, or "" to leave the field
empty (the text kept in the customer's import remarks).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from crm.models import User
from crm.sheets.cells import cells_dump
from crm.sheets.sheet import Sheet, SheetError
from customers.columns import BY_KEY
from customers.imports.base import PREVIEW_ROWS, Layout, is_placeholder
from customers.imports.clean import (
    _CONSENT_FALSE,
    _CONSENT_TRUE,
    _FALSE,
    _KEY_FALSE,
    _KEY_TRUE,
    _TRUE,
    BOOLEANS,
    CHOICE_KEYS,
    CHOICES,
    NEW_SOURCE,
    NO,
    YES,
    choice_builtin,
    text_of,
    value_key,
)
from customers.imports.layout import _cell_text, data_rows
from customers.models import ImportValueMapping
from customers.sources import SourceLookup, source_key
from customers.standardise import CHOICE_SYNONYMS

VALUES_PER_COLUMN = 200  # past this a column is not choice-like: its values are not kept
VALUE_LENGTH = 60
FUZZY_CUTOFF = 0.6


# --- what the file holds (read by a worker) ---------------------------------------


def sheet_analyse(sheet: Sheet, layout: Layout, *, sample: int = PREVIEW_ROWS) -> dict[str, Any]:
    """The first data rows, typed, and each column's distinct values with their
    counts (None for a column with more than VALUES_PER_COLUMN). One pass. A sheet
    with no data row under its header is refused: there is nothing to import."""
    rows: list[list] = []
    counters: list[dict[str, int] | None] = [{} for __ in layout.columns]
    found = False
    for row_number, cells in data_rows(sheet, layout, [0]):
        found = True
        if len(rows) < sample:
            rows.append([row_number, cells_dump(cells)])
        for col, value in cells.items():
            counter = counters[col - 1] if col <= len(counters) else None
            if counter is None:
                continue
            text = text_of(value) if value.__class__ is str else _cell_text(value).strip()
            if not text or len(text) > VALUE_LENGTH or is_placeholder(text):
                continue
            counter[text] = counter.get(text, 0) + 1
            if len(counter) > VALUES_PER_COLUMN:
                counters[col - 1] = None
    if not found:
        raise SheetError(
            _("The sheet has headings but no rows under them: there is nothing to import."),
            "no_rows",
        )
    values = {
        str(index): None
        if counter is None
        else sorted(counter.items(), key=lambda item: (-item[1], item[0]))
        for index, counter in enumerate(counters)
    }
    return {"rows": rows, "values": values}


# --- suggestions -----------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    target: str | None  # None: Kehu has none
    how: str  # "builtin", "previous", "fuzzy" or ""
    like: str = ""  # the word a fuzzy suggestion is close to


def _words(key: str, sources: SourceLookup) -> dict[str, str]:
    """Every word Kehu knows for the key's choices, folded, with its target."""
    if key == "source":
        words: dict[str, str] = {}
        for channel in sources.channels:
            if channel.is_active:
                for word in (channel.code, channel.name_zh, channel.name_en, *channel.synonyms):
                    words.setdefault(source_key(word), channel.code)
        return words
    if key in BOOLEANS:
        yes = _TRUE | (_KEY_TRUE if key == "is_key_account" else _CONSENT_TRUE)
        no = _FALSE | (_KEY_FALSE if key == "is_key_account" else _CONSENT_FALSE)
        return {**dict.fromkeys(map(value_key, yes), YES), **dict.fromkeys(map(value_key, no), NO)}
    choices = CHOICES[key]
    words = {}
    for language in ("zh-hans", "en"):
        with translation.override(language):
            for code, label in choices.choices:
                if code:
                    words[value_key(str(label))] = code
    for word, code in CHOICE_SYNONYMS.get(choices, {}).items():
        if code:
            words.setdefault(value_key(word), code)
    return words


class Suggester:
    """Suggestions for one import: Kehu's words, this company's earlier mappings,
    then the closest known word."""

    def __init__(self, sources: SourceLookup, keys: Iterable[str]):
        self.sources = sources
        keys = [k for k in keys if k in CHOICE_KEYS]
        self.previous = {
            (m.key, m.value_key): m.target for m in ImportValueMapping.objects.filter(key__in=keys)
        }
        self.words = {key: _words(key, sources) for key in keys}

    def suggest(self, key: str, text: str) -> Suggestion:
        builtin = choice_builtin(key, text, self.sources)
        if builtin is not None:
            return Suggestion(builtin, "builtin")
        previous = self.previous.get((key, value_key(text)))
        if previous is not None and (previous in self.targets(key) or previous == ""):
            return Suggestion(previous, "previous")
        words = self.words.get(key, {})
        close = difflib.get_close_matches(value_key(text), list(words), n=1, cutoff=FUZZY_CUTOFF)
        if close:
            return Suggestion(words[close[0]], "fuzzy", close[0])
        return Suggestion(None, "")

    def targets(self, key: str) -> dict[str, str]:
        return dict(value_targets(key, self.sources))


def value_targets(key: str, sources: SourceLookup) -> list[tuple[str, str]]:
    """(target, label) of what a value of the column can be mapped to, in the active
    language; "" leaves the field empty."""
    if key == "source":
        options = [(c.code, c.label) for c in sources.channels if c.is_active]
    elif key in BOOLEANS:
        options = [(YES, pgettext("yes or no", "Yes")), (NO, pgettext("yes or no", "No"))]
    else:
        options = [(code, str(label)) for code, label in CHOICES[key].choices if code]
    return options


# --- decisions -------------------------------------------------------------------


def choice_columns(layout: Layout) -> list[tuple[int, str]]:
    """(column index, key) of the columns mapped to a choice-like field."""
    return [(index, key) for index, key in enumerate(layout.mapping) if key in CHOICE_KEYS]


def decisions_suggested(
    layout: Layout, values: Mapping[str, list | None], sources: SourceLookup
) -> tuple[dict[str, dict[str, str]], list[tuple[str, str, int]]]:
    """What an import without a steward applies (the command without --values): each
    suggestion; and the values left unmapped, (key, text, count), most frequent first."""
    columns = choice_columns(layout)
    suggester = Suggester(sources, {key for __, key in columns})
    decisions: dict[str, dict[str, str]] = {}
    unmapped: list[tuple[str, str, int]] = []
    for index, key in columns:
        for text, count in values.get(str(index)) or []:
            suggestion = suggester.suggest(key, text)
            if suggestion.target is None:
                unmapped.append((key, text, count))
            elif suggestion.how != "builtin":
                decisions.setdefault(key, {})[value_key(text)] = suggestion.target
    unmapped.sort(key=lambda item: -item[2])
    return decisions, unmapped


def decisions_from_file(
    data: Mapping[str, Any], sources: SourceLookup
) -> tuple[dict[str, dict[str, str]], list[str]]:
    """The command's --values file: {"source": {"抖音": "+new", "百度": "advertising"},
    "gender": {"男生": "male"}, "is_key_account": {"A": "yes"}}. A target may be a code
    or a label in either language; "" leaves the field empty. Returns the decisions
    and the problems (nothing is applied when there are any)."""
    decisions: dict[str, dict[str, str]] = {}
    problems: list[str] = []
    for key, mapping in data.items():
        if key not in CHOICE_KEYS or not isinstance(mapping, dict):
            problems.append(
                _("“%(key)s” is not a column whose values can be mapped (%(keys)s).")
                % {"key": key, "keys": ", ".join(CHOICE_KEYS)}
            )
            continue
        for text, target in mapping.items():
            target = str(target or "").strip()
            if target and target != NEW_SOURCE:
                resolved = choice_builtin(key, target, sources)
                if resolved is None:
                    problems.append(
                        _("%(key)s: “%(target)s” is not one of the choices (for “%(value)s”).")
                        % {"key": key, "target": target, "value": text}
                    )
                    continue
                target = resolved
            elif target == NEW_SOURCE and key != "source":
                problems.append(
                    _("Only sources can be added as new (“%(value)s”).") % {"value": text}
                )
                continue
            decisions.setdefault(key, {})[value_key(str(text))] = target
    return decisions, problems


def mappings_remember(
    *, actor: User, decisions: Mapping[str, Mapping[str, str]], originals: Mapping, sources
) -> None:
    """Keep what the steward decided, for the next import's suggestions (new sources
    by the code they were given)."""
    for key, mapping in decisions.items():
        for folded, target in mapping.items():
            text = originals.get(key, {}).get(folded, folded)
            if target == NEW_SOURCE:
                target = sources.resolve(text) or ""
            if choice_builtin(key, text, sources) == target and target:
                continue  # Kehu knows it by itself now (a new channel's name)
            ImportValueMapping.objects.update_or_create(
                key=key,
                value_key=folded[:100],
                defaults={"value": text[:100], "target": target, "updated_by": actor},
            )


def column_label(key: str) -> str:
    return str(BY_KEY[key].label)
