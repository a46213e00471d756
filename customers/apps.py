from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from customers import workbench

        workbench.register()
        _audit_labels()
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
        from crm.jobs import Job, register_job

        register_job(
            Job(
                "pool_recycle",
                "customers.pool:pool_recycle",
                _(
                    "Customers neglected under the pool rules back to the pool; "
                    "owners warned first."
                ),
            )
        )
        from customers.models import OwnershipChange
        from customers.timeline import TimelineSource, register_timeline_source

        register_timeline_source(
            TimelineSource(
                kind="ownership",
                model=OwnershipChange,
                moment="at",
                label=_("Ownership"),
                template="customers/_timeline_ownership.html",
                position=50,  # who held the customer: anyone who sees the customer
                related=("from_user", "to_user", "actor", "release_reason"),
            )
        )


def _audit_labels() -> None:
    """How the audit log names what customer events store beyond their fields."""
    from django.utils.translation import pgettext_lazy

    from crm.auditlog import register_label, register_values
    from customers.models import Customer, OwnershipKind, RecycleReason

    for key, text in {
        "matches": pgettext_lazy("audit detail", "Found"),
        "held_by_others": pgettext_lazy("audit detail", "Held by colleagues"),
        "not_duplicate_of": pgettext_lazy("audit detail", "Not a duplicate of"),
    }.items():
        register_label(key, text, model=Customer)
    register_values("ownership", OwnershipKind.choices)
    register_values("reason", RecycleReason.choices)
    register_values("fields", [
        ("phones", pgettext_lazy("audit detail", "Phones")),
        ("emails", pgettext_lazy("audit detail", "E-mails")),
        ("street", Customer._meta.get_field("street").verbose_name),
        ("import_remarks", Customer._meta.get_field("import_remarks").verbose_name),
    ])  # fmt: skip
    for key in ("merge", "churn_episode", "contact_id"):
        register_label(key, "", hidden=True)
    for key, text in {
        "contact": pgettext_lazy("audit detail", "Contact"),
        "merged": pgettext_lazy("audit detail", "Merged customer"),
        "merged_into": pgettext_lazy("audit detail", "Merged into"),
        "moved": pgettext_lazy("audit detail", "Records moved"),
        "ownership": pgettext_lazy("audit detail", "Ownership change"),
        "collaborators": pgettext_lazy("audit detail", "Collaborators"),
        "contact.phones": pgettext_lazy("audit detail", "Contact's phones"),
        "contact.emails": pgettext_lazy("audit detail", "Contact's e-mails"),
        "created": pgettext_lazy("import outcome", "Created"),
        "created_warned": pgettext_lazy("audit detail", "Created with warnings"),
        "updated": pgettext_lazy("import outcome", "Updated"),
        "updated_warned": pgettext_lazy("audit detail", "Updated with warnings"),
        "rejected": pgettext_lazy("import outcome", "Rejected"),
        "skipped": pgettext_lazy("import outcome", "Skipped"),
    }.items():
        register_label(key, text)
