from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = _("Kehu CRM core")

    def ready(self) -> None:
        from crm import selectors, signals  # noqa: F401  (scopes and receivers register)
