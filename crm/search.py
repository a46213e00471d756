"""The top-bar search: each app registers what it can find; the core shows the
results in registration order (customers first, then the rest), every section
already scoped to the user by the app's own selector."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.functional import Promise


@dataclass(frozen=True)
class SearchSection:
    key: str
    label: Promise
    template: str  # renders one result, as `item`
    find: Callable[..., list]  # find(user=…, query=…) -> up to RESULTS_PER_SECTION results
    order: int = 100
    more_url_name: str = ""  # a list page that takes ?q= for "see all"


RESULTS_PER_SECTION = 20

_SECTIONS: dict[str, SearchSection] = {}


def register_search(section: SearchSection) -> None:
    _SECTIONS[section.key] = section


def search_sections() -> list[SearchSection]:
    return sorted(_SECTIONS.values(), key=lambda section: (section.order, section.key))
