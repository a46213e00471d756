"""The most frequent themes in what customers wrote: Chinese split into words
with jieba, English into words; stop words, numbers and single characters left
out. A theme's count is the number of feedback texts that mention it (once per
text, however often it repeats), so one long complaint cannot outweigh many
short ones."""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import jieba

jieba.setLogLevel(logging.WARNING)

_HERE = Path(__file__).resolve().parent / "stopwords"
_HAN = re.compile(r"[\u3400-\u9fff]+")
_LATIN = re.compile(r"[A-Za-z][A-Za-z'-]*[A-Za-z]")


@cache
def stop_words() -> frozenset[str]:
    words: set[str] = set()
    for name in ("zh.txt", "en.txt"):
        for line in (_HERE / name).read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                words.add(line.lower())
    return frozenset(words)


def terms(text: str) -> set[str]:
    """The distinct theme words of one text."""
    stop = stop_words()
    found: set[str] = set()
    for run in _HAN.findall(text):
        for word in jieba.cut(run):
            if len(word) >= 2 and word not in stop:
                found.add(word)
    for word in _LATIN.findall(text):
        word = word.lower().replace("'", "")
        if len(word) >= 3 and word not in stop:
            found.add(word)
    return found


def themes(texts: Iterable[str], *, top: int = 20, minimum: int = 2) -> list[tuple[str, int]]:
    """The `top` themes as (word, number of texts), most frequent first (ties
    alphabetically); words found in fewer than `minimum` texts are left out."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(terms(text or ""))
    ranked = sorted(
        ((word, n) for word, n in counts.items() if n >= minimum),
        key=lambda item: (-item[1], item[0]),
    )
    return ranked[:top]
