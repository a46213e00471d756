"""The roles of DESIGN §1 as groups, and exactly the permissions each one holds.

The table below is the one source of truth. Data migrations call `roles_sync`
so that a fresh database and an upgraded one end with the same groups; a later
issue that adds permissions edits the table and adds a migration that calls
`roles_sync` again. Admins are staff/superusers and need no group.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

SALES_REP = "sales_rep"
SALES_MANAGER = "sales_manager"
DATA_STEWARD = "data_steward"
AUDITOR = "auditor"
SERVICE_AGENT = "service_agent"

ROLE_LABELS = {
    SALES_REP: pgettext_lazy("role", "Sales rep"),
    SALES_MANAGER: pgettext_lazy("role", "Sales manager"),
    DATA_STEWARD: pgettext_lazy("role", "Data steward"),
    AUDITOR: pgettext_lazy("role", "Auditor"),
    SERVICE_AGENT: pgettext_lazy("role", "Service agent"),
}
ADMIN_LABEL = pgettext_lazy("role", "Administrator")
NO_ROLE_LABEL = _("No role yet")

# "app_label.codename" per role. A permission whose model is not migrated yet is
# skipped by roles_sync and picked up by the later migration that calls it again.
_CUSTOMER_BASICS = {
    "customers.view_customer",
    "customers.add_customer",
    "customers.change_customer",
    "customers.delete_customer",
    "customers.view_tag",
    "customers.add_tag",
    "customers.view_contact",
    "customers.add_contact",
    "customers.change_contact",
    "customers.delete_contact",
    "customers.view_collaborator",
    "customers.add_collaborator",
    "customers.delete_collaborator",
    # Saved segments: everyone keeps their own; managers and stewards share.
    "customers.view_segment",
    "customers.add_segment",
    "customers.change_segment",
    "customers.delete_segment",
}

# Orders follow the customer: whoever may work on a customer records its orders.
_SALES_BASICS = {
    "sales.view_product",
    "sales.view_order",
    "sales.add_order",
    "sales.change_order",
    # Opportunities too; competitors are read by all who sell, kept by managers.
    "sales.view_opportunity",
    "sales.add_opportunity",
    "sales.change_opportunity",
    "sales.view_competitor",
    "sales.view_contract",
    "sales.add_contract",
    "sales.change_contract",
    "sales.view_salestarget",
}
# Interactions, tasks and tickets follow the customer too: whoever works on a
# customer logs its calls, follows up and handles its after-sales requests.
_SERVICE_BASICS = {
    "interactions.view_interaction",
    "interactions.add_interaction",
    "interactions.change_interaction",
    "interactions.view_task",
    "interactions.add_task",
    "interactions.change_task",
    "interactions.view_serviceticket",
    "interactions.add_serviceticket",
    "interactions.change_serviceticket",
    "interactions.view_ticketcomment",
    "interactions.add_ticketcomment",
}
# Feedback follows the customer as well.
_FEEDBACK_BASICS = {
    "feedback.view_feedback",
    "feedback.add_feedback",
    "feedback.change_feedback",
    "feedback.view_feedbackcategory",
    "feedback.view_pointsentry",
    "feedback.view_coupon",
    "feedback.add_coupon",
    "feedback.change_coupon",
    "feedback.view_survey",
    "feedback.view_surveyinvitation",
    "feedback.add_surveyinvitation",
}
# Who writes the surveys that everyone sends.
_SURVEY_BUILDING = {"feedback.add_survey", "feedback.change_survey"}
_CATALOGUE = {
    "sales.add_product",
    "sales.change_product",
    "sales.add_competitor",
    "sales.change_competitor",
}

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    # Own customers, customers they collaborate on, and the pool (read only).
    SALES_REP: frozenset(
        {
            "crm.view_team",
            "crm.view_user",
            *_CUSTOMER_BASICS,
            *_SALES_BASICS,
            *_SERVICE_BASICS,
            *_FEEDBACK_BASICS,
        }
    ),
    # The team's customers and the pool; assigns owners; the narrow financial profile.
    SALES_MANAGER: frozenset(
        {
            "crm.view_team",
            "crm.view_user",
            *_CUSTOMER_BASICS,
            "customers.view_team_customers",
            "customers.reveal_customer_contact",
            "customers.assign_customer_owner",
            "customers.view_customer_history",
            "customers.view_financial_profile",
            "customers.export_customers",
            "customers.share_segment",
            *_SALES_BASICS,
            *_SERVICE_BASICS,
            *_FEEDBACK_BASICS,
            *_CATALOGUE,
            "sales.refund_order",
            "sales.add_salestarget",
            "sales.change_salestarget",
            "feedback.add_pointsentry",
            *_SURVEY_BUILDING,
        }
    ),
    # Every customer: cleans, reassigns, restores what was deleted.
    DATA_STEWARD: frozenset(
        {
            "crm.view_team",
            "crm.view_user",
            "crm.view_all_users",
            *_CUSTOMER_BASICS,
            "customers.change_tag",
            "customers.view_all_customers",
            "customers.reveal_customer_contact",
            "customers.assign_customer_owner",
            "customers.view_customer_history",
            "customers.restore_customer",
            "customers.export_customers",
            "customers.merge_customers",
            "customers.share_segment",
            # Cleans the catalogue and imports order history; never deletes sales.
            *_SALES_BASICS,
            *_SERVICE_BASICS,
            *_FEEDBACK_BASICS,
            *_SURVEY_BUILDING,
            *_CATALOGUE,
        }
    ),
    # Reads everything, changes nothing; personal values stay masked.
    AUDITOR: frozenset(
        {
            "crm.view_team",
            "crm.view_user",
            "crm.view_all_users",
            "crm.view_auditevent",
            "customers.view_customer",
            "customers.view_all_customers",
            "customers.view_customer_history",
            "customers.view_contact",
            "customers.view_tag",
            "customers.view_collaborator",
            "customers.view_segment",
            "customers.export_customers",
            "sales.view_product",
            "sales.view_order",
            "sales.view_opportunity",
            "sales.view_competitor",
            "sales.view_contract",
            "sales.view_salestarget",
            "interactions.view_interaction",
            "interactions.view_task",
            "interactions.view_serviceticket",
            "interactions.view_ticketcomment",
            "feedback.view_feedback",
            "feedback.view_feedbackcategory",
            "feedback.view_pointsentry",
            "feedback.view_coupon",
            "feedback.view_survey",
            "feedback.view_surveyinvitation",
        }
    ),
    # After-sales (客服): reads every customer and its orders, logs interactions and
    # handles tickets for any of them; edits no profile, sells nothing.
    SERVICE_AGENT: frozenset(
        {
            "crm.view_team",
            "crm.view_user",
            "customers.view_customer",
            "customers.view_all_customers",
            "customers.reveal_customer_contact",
            "customers.view_contact",
            "customers.view_tag",
            "customers.view_collaborator",
            "sales.view_product",
            "sales.view_order",
            *_SERVICE_BASICS,
            *_FEEDBACK_BASICS,
            "interactions.serve_all_customers",
        }
    ),
}


def role_label(group_name: str) -> str:
    return str(ROLE_LABELS.get(group_name, group_name))


def user_role_labels(user) -> list[str]:
    """The user's roles in display order, for greetings and the people directory."""
    if user.is_superuser:
        return [str(ADMIN_LABEL)]
    names = {group.name for group in user.groups.all()}
    labels = [str(ROLE_LABELS[name]) for name in ROLE_LABELS if name in names]
    if user.is_staff and not labels:
        labels.append(str(ADMIN_LABEL))
    return labels or [str(NO_ROLE_LABEL)]


def roles_sync(apps, schema_editor=None) -> None:
    """Create the role groups and give each exactly its permissions.

    Works with the historical app registry of a migration as well as the live one.
    """
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after `migrate` (post_migrate); a data
    # migration runs before that, so create them here for the models that exist.
    for app_config in apps.get_app_configs():
        models_module = getattr(app_config, "models_module", None)
        app_config.models_module = models_module or True  # historical configs have none
        try:
            create_permissions(app_config, apps=apps, verbosity=0)
        finally:
            app_config.models_module = models_module

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, wanted in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role)
        permissions = []
        for dotted in sorted(wanted):
            app_label, codename = dotted.split(".", 1)
            permission = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if permission is not None:
                permissions.append(permission)
        group.permissions.set(permissions)
