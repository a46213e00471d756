"""The rows the customer services write beside the record: a customer's (or a
contact's) phones and e-mails, replaced as a whole, each with its blind index and
keeping what was noted of a phone kept; their masked forms for the audit log; and
the tags, found or made by name."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import IntegrityError, transaction

from crm.fields import blind_index
from crm.normalise import email_mask, phone_mask
from customers.models import Contact, Customer, CustomerEmail, CustomerPhone, Tag


def _masked_phones(phones: Iterable[str]) -> list[str]:
    return [phone_mask(phone) for phone in phones]


def _masked_emails(emails: Iterable[str]) -> list[str]:
    return [email_mask(email) for email in emails]


def _personal_replace(
    model: type[CustomerPhone | CustomerEmail],
    field: str,
    customer: Customer,
    values: list[str],
    contact: Contact | None = None,
) -> None:
    """Replace a customer's (or contact's) phones or e-mails, each with its blind index.
    A phone kept keeps what was noted of it (its label, 微信同号, "转 801")."""
    old = model.objects.filter(customer=customer, contact=contact)
    about = {}
    if model is CustomerPhone:
        about = {
            index: {"label": label, "note": note, "wechat": wechat}
            for index, label, note, wechat in old.values_list(
                "number_index", "label", "note", "wechat"
            )
        }
    old.delete()
    model.objects.bulk_create(
        model(
            customer=customer,
            contact=contact,
            position=position,
            **{field: value, f"{field}_index": index},
            **about.get(index, {}),
        )
        for position, value in enumerate(values)
        for index in [blind_index(value)]
    )


def _phones_replace(customer: Customer, phones: list[str], contact: Contact | None = None) -> None:
    _personal_replace(CustomerPhone, "number", customer, phones, contact)


def _emails_replace(customer: Customer, emails: list[str], contact: Contact | None = None) -> None:
    _personal_replace(CustomerEmail, "address", customer, emails, contact)


def tags_get_or_create(names: Iterable[str]) -> list[Tag]:
    tags = []
    for name in names:
        tag = Tag.objects.filter(name__iexact=name).first()
        if tag is None:
            try:
                with transaction.atomic():
                    tag = Tag.objects.create(name=name)
            except IntegrityError:  # created by someone else this instant
                tag = Tag.objects.get(name__iexact=name)
        tags.append(tag)
    return tags
