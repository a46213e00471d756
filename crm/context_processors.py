from django.conf import settings
from django.utils.functional import SimpleLazyObject

from crm.navigation import badge_querysets, navigation_for
from crm.selectors import counts_at_once, unread_notifications


def shell(request):
    """What base.html needs: navigation, unread count, languages. Lazy, so a page
    that does not render the shell runs no query for it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"languages": settings.LANGUAGES}

    def badges() -> dict[str, int]:
        """The unread notifications and the navigation's badges, in one query."""
        return counts_at_once({"unread": unread_notifications(user), **badge_querysets(user)})

    counts = SimpleLazyObject(badges)

    return {
        "languages": settings.LANGUAGES,
        "navigation": SimpleLazyObject(lambda: navigation_for(user, request.path)),
        "unread_count": SimpleLazyObject(lambda: counts["unread"]),
        "due_task_count": SimpleLazyObject(lambda: counts.get("tasks", 0)),
    }
