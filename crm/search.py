"""The top-bar search: each app registers what it can find; the core shows the
results in registration order (customers first, then the rest), every section
already scoped to the user by the app's own selector."""

from __future__ import annotations

import secrets
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
    more_url_name: str = ""  # a list page that takes ?k= (kept_query) for "see all"


RESULTS_PER_SECTION = 20
SESSION_KEY = "kehu_searches"
KEPT = 20  # the last searches a session can go back to

_SECTIONS: dict[str, SearchSection] = {}


def register_search(section: SearchSection) -> None:
    _SECTIONS[section.key] = section


def search_sections() -> list[SearchSection]:
    return sorted(_SECTIONS.values(), key=lambda section: (section.order, section.key))


def query_keep(request, query: str) -> str:
    """Keep a typed query in the session under a random key, for addresses that
    must not carry it (a phone or e-mail in a URL lands in web server and proxy
    logs): the results page and the lists' "see all" take `?k=…`."""
    searches = dict(request.session.get(SESSION_KEY) or {})
    key = secrets.token_urlsafe(6)
    searches[key] = query
    request.session[SESSION_KEY] = dict(list(searches.items())[-KEPT:])
    return key


def kept_query(request) -> str | None:
    """The query kept under the request's `?k=`, if it is this session's."""
    key = request.GET.get("k", "")
    return (request.session.get(SESSION_KEY) or {}).get(key) if key else None
