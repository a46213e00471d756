from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = _("Kehu CRM core")

    def ready(self) -> None:
        from django.utils.translation import pgettext_lazy

        from crm import selectors, signals  # noqa: F401  (scopes and receivers register)
        from crm.search import RESULTS_PER_SECTION, SearchSection, register_search

        register_search(
            SearchSection(
                key="people",
                label=pgettext_lazy("search section", "People"),
                template="crm/_search_person.html",
                find=lambda *, user, query: list(
                    selectors.user_search(user=user, query=query)[:RESULTS_PER_SECTION]
                ),
                order=900,
            )
        )
