"""The Content-Security-Policy allows no inline code or style (kehu/settings.py):
a page template with an inline event handler, style attribute, <script> body or
<style> block would be silently broken in the browser (the task list's "whose
tasks" selector and the performance page's progress bar were). E-mails are not
pages: their inline styles are what mail clients read."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INLINE = {
    # Not anchored on "<": a tag's attributes may hold {% if a >= b %}.
    "event handler": re.compile(r"\son[a-z]+\s*=\s*[\"']", re.IGNORECASE),
    "style attribute": re.compile(r"\sstyle\s*=\s*[\"']", re.IGNORECASE),
    "inline script": re.compile(r"<script(?![^>]*\ssrc=)[^>]*>\s*\S", re.IGNORECASE),
    "style block": re.compile(r"<style[\s>]", re.IGNORECASE),
}


def _page_templates():
    for path in sorted(ROOT.glob("**/templates/**/*.html")):
        relative = path.relative_to(ROOT)
        if ".venv" in relative.parts or "email" in relative.parts:
            continue
        yield relative, path.read_text(encoding="utf-8")


def test_no_page_template_holds_inline_code_or_style():
    found = [
        f"{relative}:{text[: match.start()].count(chr(10)) + 1}: {kind}"
        for relative, text in _page_templates()
        for kind, pattern in INLINE.items()
        for match in pattern.finditer(text)
    ]
    assert len(list(_page_templates())) > 100
    assert not found, found
