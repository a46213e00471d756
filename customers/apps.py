from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from customers import workbench

        workbench.register()
        from django.utils.translation import pgettext_lazy

        from crm.search import SearchSection, register_search
        from customers.selectors import customer_search

        register_search(
            SearchSection(
                key="customers",
                label=pgettext_lazy("search section", "Customers"),
                template="customers/_search_customer.html",
                find=customer_search,
                order=10,
                more_url_name="customers:list",
            )
        )
