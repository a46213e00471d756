from django.conf import settings
from django.utils.functional import SimpleLazyObject

from crm.navigation import navigation_for


def shell(request):
    """What base.html needs: navigation, unread count, languages. Lazy, so a page
    that does not render the shell runs no query for it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"languages": settings.LANGUAGES}

    def unread():
        from crm.selectors import unread_notification_count

        return unread_notification_count(user)

    return {
        "languages": settings.LANGUAGES,
        "navigation": SimpleLazyObject(lambda: navigation_for(user, request.path)),
        "unread_count": SimpleLazyObject(unread),
    }
