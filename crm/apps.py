from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = _("Kehu CRM core")

    def ready(self) -> None:
        from django.utils.translation import pgettext_lazy

        from crm import selectors, signals  # noqa: F401  (scopes and receivers register)
        from crm.jobs import Job, register_job

        register_job(
            Job(
                "reminders",
                "crm.reminders:reminders",
                _(
                    "Tasks due and overdue, contracts to renew, "
                    "tickets near or past SLA, birthdays."
                ),
            )
        )
        register_job(
            Job(
                "email_notifications",
                "crm.mail:email_immediately",
                _("Each notification by e-mail to those who want them at once (every minute)."),
                quiet=True,
            )
        )
        register_job(
            Job(
                "email_digest",
                "crm.mail:email_digest",
                _("The day's notifications in one e-mail to those who want a digest."),
            )
        )
        register_job(
            Job(
                "backup",
                "crm.backup.archive:backup_scheduled",
                _(
                    "An encrypted backup of the database and the private files, "
                    "then the old backups pruned."
                ),
            )
        )
        register_job(
            Job(
                "backup_check",
                "crm.backup.alerts:backup_check",
                _("Tells the admins when the last backup failed or is more than a day old."),
                quiet=True,
            )
        )
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
