"""Both message catalogues are complete and hold every string of the source."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CATALOGUES = {
    "zh_Hans": ROOT / "locale/zh_Hans/LC_MESSAGES/django.po",
    "en": ROOT / "locale/en/LC_MESSAGES/django.po",
}
SKIP = shutil.ignore_patterns(
    ".venv", ".git", "staticfiles", "test-results", "node_modules", "*.mo", "__pycache__"
)


@pytest.mark.parametrize("language", sorted(CATALOGUES))
def test_catalogue_has_no_untranslated_or_fuzzy_entry(language):
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(CATALOGUES[language])],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "untranslated" not in result.stderr, result.stderr
    assert "fuzzy" not in result.stderr, result.stderr


def test_catalogues_hold_exactly_the_strings_of_the_source(tmp_path):
    """Regenerate the catalogue from a copy of the source; compare both ways."""
    copy = tmp_path / "src"
    shutil.copytree(ROOT, copy, ignore=SKIP)
    subprocess.run(
        [
            sys.executable,
            "manage.py",
            "makemessages",
            "-l",
            "zh_Hans",
            "--no-obsolete",
            "--ignore",
            "bench/*",
            "-v",
            "0",
        ],
        cwd=copy,
        env={**os.environ, "PYTHONPATH": str(copy)},
        check=True,
        capture_output=True,
    )
    regenerated = copy / "locale/zh_Hans/LC_MESSAGES/django.po"
    for language, committed in CATALOGUES.items():
        for definitions, reference in ((committed, regenerated), (regenerated, committed)):
            result = subprocess.run(
                ["msgcmp", "--use-untranslated", str(definitions), str(reference)],
                capture_output=True,
                text=True,
                check=False,
            )
            assert result.returncode == 0, (
                f"{language}: catalogue and source differ; run `make messages`.\n{result.stderr}"
            )
