"""The people around a customer: the contacts of a company customer, each with
its own phones and e-mails, and the colleagues besides the owner who work on it
(联合跟进人) with their access and role, which only the owner or a manager
changes. Every change is audited on the customer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from crm.audit import audit_record, diff, snapshot
from crm.models import AuditAction, User
from crm.normalise import length_check, name_normalise
from crm.selectors import visible_users
from customers.models import (
    Collaborator,
    CollaboratorAccess,
    CollaboratorRole,
    Contact,
    CustomerKind,
)
from customers.quality import quality_refresh
from customers.selectors import customer_access
from customers.services.parts import (
    _emails_replace,
    _masked_emails,
    _masked_phones,
    _phones_replace,
)
from customers.services.records import locked_editable
from customers.standardise import emails_parse, phones_parse


def _contact_values(data: Mapping[str, Any]) -> dict[str, Any]:
    errors: dict[str, list] = {}
    values: dict[str, Any] = {
        "name": name_normalise(str(data.get("name") or "")),
        "title": " ".join(str(data.get("title") or "").split()),
        "notes": str(data.get("notes") or "").strip(),
        "is_primary": bool(data.get("is_primary")),
    }
    if not values["name"]:
        errors["name"] = [ValidationError(_("Enter the contact's name."), code="required")]
    for field, limit in (("name", 100), ("title", 100), ("notes", 500)):
        length_check(errors, field, values[field], limit)
    for field, parse in (("phones", phones_parse), ("emails", emails_parse)):
        try:
            values[field] = parse(data.get(field))
        except ValidationError as exc:
            errors.setdefault(field, []).append(exc)
    if errors:
        raise ValidationError(errors)
    return values


@transaction.atomic
def contact_save(
    *,
    actor: User,
    customer_id: int,
    data: Mapping[str, Any],
    contact_id: int | None = None,
    request=None,
) -> Contact:
    """Add or change a contact of a company customer."""
    customer = locked_editable(actor, customer_id)
    if customer.kind != CustomerKind.COMPANY:
        raise ValidationError(_("Only company customers have contacts."), code="not_company")
    values = _contact_values(data)
    if contact_id is None:
        contact = Contact(customer=customer)
        old = {"phones": [], "emails": []}
    else:
        contact = customer.contacts.filter(pk=contact_id).first()
        if contact is None:
            raise ValidationError(_("This contact does not exist any more."), code="gone")
        old = {
            "phones": [p.number for p in contact.phones.all()],
            "emails": [e.address for e in contact.emails.all()],
        }
    before = snapshot(contact, ["name", "title", "notes", "is_primary"])
    if values["is_primary"]:
        customer.contacts.exclude(pk=contact.pk).filter(is_primary=True).update(is_primary=False)
    for name in ("name", "title", "notes", "is_primary"):
        setattr(contact, name, values[name])
    contact.save()
    changes = {
        f"contact.{name}": change
        for name, change in diff(
            {} if contact_id is None else before,
            {k: values[k] for k in ("name", "title", "notes", "is_primary")},
        ).items()
    }
    if old["phones"] != values["phones"]:
        _phones_replace(customer, values["phones"], contact)
        changes["contact.phones"] = (
            _masked_phones(old["phones"]),
            _masked_phones(values["phones"]),
        )
    if old["emails"] != values["emails"]:
        _emails_replace(customer, values["emails"], contact)
        changes["contact.emails"] = (
            _masked_emails(old["emails"]),
            _masked_emails(values["emails"]),
        )
    if changes:
        quality_refresh([customer.pk])
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            target=customer,
            changes=changes,
            extra={"contact_id": contact.pk, "contact": contact.name},
            request=request,
        )
    return contact


@transaction.atomic
def contact_delete(*, actor: User, customer_id: int, contact_id: int, request=None) -> None:
    customer = locked_editable(actor, customer_id)
    contact = customer.contacts.filter(pk=contact_id).first()
    if contact is None:
        return
    phones = [p.number for p in contact.phones.all()]
    emails = [e.address for e in contact.emails.all()]
    name = contact.name
    contact.delete()
    quality_refresh([customer.pk])
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        target=customer,
        changes={
            "contact.name": (name, None),
            "contact.phones": (_masked_phones(phones), []),
            "contact.emails": (_masked_emails(emails), []),
        },
        extra={"contact_id": contact_id, "contact": name, "removed": True},
        request=request,
    )


@transaction.atomic
def collaborator_add(
    *,
    actor: User,
    customer_id: int,
    user: User,
    access: str = CollaboratorAccess.READ,
    role: str = CollaboratorRole.CO_FOLLOW,
    request=None,
) -> Collaborator:
    customer = locked_editable(actor, customer_id)
    if not customer_access(actor, customer).can_manage_collaborators:
        raise ValidationError(
            _("Only the owner or a manager adds collaborators."), code="forbidden"
        )
    if not visible_users(actor).filter(pk=user.pk, is_active=True).exists():
        raise ValidationError({"user": _("Choose a colleague from the list.")}, code="bad_user")
    if user.pk == customer.owner_id:
        raise ValidationError(
            {"user": _("The owner already works on this customer.")}, code="owner"
        )
    if access not in CollaboratorAccess.values or role not in CollaboratorRole.values:
        raise ValidationError(
            _("Choose the access and role from the lists."), code="invalid_choice"
        )
    collaborator, created = Collaborator.objects.update_or_create(
        customer=customer, user=user, defaults={"access": access, "role": role}
    )
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        target=customer,
        changes={"collaborators": (None, f"{user.get_username()} ({access}, {role})")},
        extra={"collaborator": user.pk, "added": created},
        request=request,
    )
    return collaborator


@transaction.atomic
def collaborator_remove(
    *, actor: User, customer_id: int, collaborator_id: int, request=None
) -> None:
    customer = locked_editable(actor, customer_id)
    collaborator = customer.collaborators.select_related("user").filter(pk=collaborator_id).first()
    if collaborator is None:
        return
    if not customer_access(actor, customer).can_manage_collaborators:
        raise ValidationError(
            _("Only the owner or a manager removes collaborators."), code="forbidden"
        )
    collaborator.delete()
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        target=customer,
        changes={"collaborators": (collaborator.user.get_username(), None)},
        extra={"collaborator": collaborator.user_id, "removed": True},
        request=request,
    )
