"""Row access in one place: which rows of an owned model a user may see.

Each owned model registers one scoping selector (`visible_users`,
`visible_teams`, later `visible_customers`…). Views ask `scoped(model, user)` or
use `ScopedQuerysetMixin`, so an object outside the scope answers 404 and its
existence never leaks (no 403).
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import models
from django.http import Http404

Scope = Callable[..., models.QuerySet]
_SCOPES: dict[type[models.Model], Scope] = {}


def register_scope(model: type[models.Model]) -> Callable[[Scope], Scope]:
    def decorator(selector: Scope) -> Scope:
        if model in _SCOPES and _SCOPES[model] is not selector:
            raise RuntimeError(f"{model.__name__} already has a scoping selector.")
        _SCOPES[model] = selector
        return selector

    return decorator


def scoped(model: type[models.Model], user) -> models.QuerySet:
    """The rows of `model` that `user` may see. Unregistered models are refused."""
    try:
        selector = _SCOPES[model]
    except KeyError:
        raise LookupError(f"{model.__name__} has no scoping selector; register one.") from None
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return model._default_manager.none()
    return selector(user)


def scoped_get_or_404(model: type[models.Model], user, **lookup) -> models.Model:
    try:
        return scoped(model, user).get(**lookup)
    except model.DoesNotExist:
        raise Http404 from None


def registered_models() -> list[type[models.Model]]:
    return list(_SCOPES)


class ScopedQuerysetMixin:
    """For generic views: the queryset is the user's scope of `self.model`."""

    model: type[models.Model]

    def get_queryset(self):
        return scoped(self.model, self.request.user)
