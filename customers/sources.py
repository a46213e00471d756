"""The company's source channels (来源渠道) as forms, filters, exports and imports
read them: an admin-edited table (SourceChannel), never a fixed list in code."""

from __future__ import annotations

import unicodedata

from customers.models import SourceChannel


def source_key(text: str) -> str:
    """What two spellings of a channel have in common: folded, lower-cased, no spaces."""
    return "".join(unicodedata.normalize("NFKC", text or "").casefold().split())


def source_choices(*, keep: str = "") -> list[tuple[str, str]]:
    """(code, name) of the offered channels, and of `keep` (a customer's own,
    perhaps retired) in the active language."""
    channels = SourceChannel.objects.all()
    return [(c.code, c.label) for c in channels if c.is_active or c.code == keep]


def source_labels() -> dict[str, str]:
    """Every channel's name in the active language, by code (retired ones too)."""
    return {c.code: c.label for c in SourceChannel.objects.all()}


class SourceLookup:
    """What a register's word means, read once per import (or form): the code of
    the offered channel whose code, name in either language or synonym it is."""

    def __init__(self, channels=None):
        channels = list(SourceChannel.objects.all() if channels is None else channels)
        self.codes = frozenset(c.code for c in channels)
        self.by_word: dict[str, str] = {}
        # Names and codes win over synonyms: a synonym cannot take another's name.
        for channel in (c for c in channels if c.is_active):
            for word in channel.synonyms:
                self.by_word.setdefault(source_key(word), channel.code)
        for channel in (c for c in channels if c.is_active):
            for word in (channel.code, channel.name_zh, channel.name_en):
                if word:
                    self.by_word[source_key(word)] = channel.code
        self.channels = channels

    def resolve(self, text: str) -> str | None:
        """The code for `text`, or None when no channel is called that."""
        if text in self.codes:
            return text
        return self.by_word.get(source_key(text))
