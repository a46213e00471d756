"""Contracts and agreements: written, signed, ended, renewed; their signed files.

A contract belongs to a customer the actor may work on and is numbered HT…
unless the paper contract has a number of its own. Status: draft → in force →
terminated (a draft may be dropped the same way); a contract in force past its
end date shows as expired. `renewal_notice_days` before the end, renewal is due.

The signed file is checked by its content, not its name: a PDF, a scan (JPEG,
PNG) or a Word document, at most CONTRACT_FILE_MAX_BYTES. It is stored under a
random name in the private storage (outside static and media) and is served only
by `sales.views.contracts`' file view to those who may see the customer, each download
audited.
"""

from __future__ import annotations

import datetime
import errno
import io
import logging
import zipfile
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.audit import audit_record, diff, snapshot, versioned_save
from crm.bulkcopy import sequence_numbers
from crm.models import AuditAction, User
from crm.normalise import length_check
from customers.selectors import assignable_owners, editable_customers
from sales.models import (
    BASE_CURRENCY,
    Contract,
    ContractKind,
    ContractStatus,
    Opportunity,
)
from sales.services.access import customer_object_locked
from sales.services.values import _code, _text, money_clean

logger = logging.getLogger(__name__)

CONTRACT_PREFIX = "HT"
CONTRACT_FIELDS = (
    "number", "title", "kind", "start_date", "end_date", "amount", "signed_on",
    "renewal_notice_days", "owner", "opportunity", "notes",
)  # fmt: skip
STATUS_MOVES = {
    ContractStatus.DRAFT: (ContractStatus.ACTIVE, ContractStatus.TERMINATED),
    ContractStatus.ACTIVE: (ContractStatus.TERMINATED,),
    ContractStatus.TERMINATED: (),
}
PDF, JPEG, PNG, DOCX = (
    "application/pdf",
    "image/jpeg",
    "image/png",
    ("application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
)
EXTENSIONS = {PDF: {"pdf"}, JPEG: {"jpg", "jpeg"}, PNG: {"png"}, DOCX: {"docx"}}
_NAMES = {PDF: "PDF", JPEG: "JPEG", PNG: "PNG", DOCX: "Word (.docx)"}


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.0f}"


def upload_too_big(size: int) -> ValidationError | None:
    """The refusal of a file over the limit, before anything of it is read."""
    limit = settings.CONTRACT_FILE_MAX_BYTES
    if size <= limit:
        return None
    return ValidationError(
        _("The file is %(size)s MB; a signed contract may be at most %(max)s MB."),
        code="too_big",
        params={"size": _megabytes(size), "max": _megabytes(limit)},
    )


def _sniff(head: bytes, data_for_zip) -> str | None:
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(data_for_zip()) as archive:
                if "word/document.xml" in archive.namelist():
                    return DOCX
        except (zipfile.BadZipFile, OSError, ValueError):
            return None
    return None


def _what_it_is(head: bytes) -> str:
    if head.startswith(b"MZ"):
        return _("a Windows program")
    if head.startswith(b"\x7fELF"):
        return _("a Linux program")
    if head[:4] in (b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe", b"\xfe\xed\xfa\xcf"):
        return _("a macOS program")
    if head.startswith(b"#!"):
        return _("a script")
    if head.lstrip()[:1] == b"<":
        return _("a web page or XML")
    return _("something else")


def signed_file_check(upload) -> str:
    """The checked content type of an uploaded signed file, or ValidationError:
    too large, or not a PDF, JPEG, PNG or Word document whatever its name says."""
    too_big = upload_too_big(upload.size)
    if too_big:
        raise too_big
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)

    def whole():
        upload.seek(0)
        return io.BytesIO(upload.read())

    kind = _sniff(head, whole)
    upload.seek(0)
    name = str(upload.name or "")
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if kind is None:
        raise ValidationError(
            _(
                "“%(name)s” is not a PDF, a JPEG or PNG scan, or a Word document: its "
                "content is %(what)s. Upload the signed contract as a PDF or a scan."
            ),
            code="file_type",
            params={"name": name[:80], "what": _what_it_is(head)},
        )
    if extension not in EXTENSIONS[kind]:
        raise ValidationError(
            _("“%(name)s” is a %(kind)s file under another name; rename it and upload it again."),
            code="file_name",
            params={"name": name[:80], "kind": _NAMES[kind]},
        )
    return kind


def contract_numbers_next(count: int = 1) -> list[str]:
    return sequence_numbers("sales_contract_number_seq", CONTRACT_PREFIX, count)


def _date(value: Any, field: str, errors: dict, *, required: bool) -> datetime.date | None:
    if value in (None, ""):
        if required:
            errors[field] = [ValidationError(_("Enter a date."), code="required")]
        return None
    if not isinstance(value, datetime.date):
        errors[field] = [ValidationError(_("Enter a date."), code="invalid")]
        return None
    if not datetime.date(1990, 1, 1) <= value <= datetime.date(2100, 12, 31):
        errors[field] = [ValidationError(_("Enter a date between 1990 and 2100."), code="range")]
        return None
    return value


def _contract_values(actor: User, customer, data: Mapping[str, Any]) -> dict[str, Any]:
    errors: dict[str, list] = {}
    values: dict[str, Any] = {
        "number": _code(data.get("number"), spaces=True),
        "title": _text(data.get("title"), 0),
        "kind": data.get("kind") or ContractKind.SALES,
        "notes": str(data.get("notes") or "").strip(),
    }
    if not values["title"]:
        errors["title"] = [ValidationError(_("Enter what the contract is for."), code="required")]
    length_check(errors, "title", values["title"], 200)
    length_check(errors, "number", values["number"], 40)
    if values["kind"] not in ContractKind.values:
        errors["kind"] = [ValidationError(_("Choose from the list."), code="invalid")]
    values["start_date"] = _date(data.get("start_date"), "start_date", errors, required=True)
    values["end_date"] = _date(data.get("end_date"), "end_date", errors, required=False)
    values["signed_on"] = _date(data.get("signed_on"), "signed_on", errors, required=False)
    if values["start_date"] and values["end_date"] and values["end_date"] < values["start_date"]:
        errors["end_date"] = [
            ValidationError(_("The contract cannot end before it starts."), code="order")
        ]
    try:
        values["amount"] = money_clean(data.get("amount") or "0", BASE_CURRENCY)
    except ValidationError as exc:
        errors["amount"] = [exc]
    notice = data.get("renewal_notice_days")
    values["renewal_notice_days"] = 30 if notice in (None, "") else notice
    if not isinstance(values["renewal_notice_days"], int) or not (
        0 <= values["renewal_notice_days"] <= 365
    ):
        errors["renewal_notice_days"] = [
            ValidationError(_("Enter a number of days from 0 to 365."), code="range")
        ]
    owner = data.get("owner") or customer.owner or actor
    if owner.pk not in (actor.pk, customer.owner_id) and not (
        assignable_owners(actor).filter(pk=owner.pk).exists()
    ):
        errors["owner"] = [ValidationError(_("Choose an owner from the list."), code="bad_owner")]
    values["owner"] = owner
    opportunity = data.get("opportunity")
    if opportunity is not None and (
        not isinstance(opportunity, Opportunity) or opportunity.customer_id != customer.pk
    ):
        errors["opportunity"] = [
            ValidationError(_("Choose one of this customer's opportunities."), code="invalid")
        ]
    values["opportunity"] = opportunity
    if errors:
        raise ValidationError(errors)
    return values


def _number_taken(number: str, contract_id: int | None) -> bool:
    taken = Contract.objects.annotate(upper=Upper("number")).filter(upper=number.upper())
    return taken.exclude(pk=contract_id).exists() if contract_id else taken.exists()


def _number_error() -> ValidationError:
    return ValidationError(
        {"number": [ValidationError(_("Another contract has this number."), code="taken")]}
    )


class ContractConflict(ValidationError):
    def __init__(self):
        super().__init__(
            _(
                "Someone changed this contract while you were editing it. Reload the page "
                "to see their changes, then make yours again."
            ),
            code="conflict",
        )


class _StoredFile:
    """A signed file written to the private storage for a write that may still fail:
    `discard()` removes it again; the file it replaces goes once the write commits."""

    def __init__(self, contract: Contract, upload, content_type: str):
        self.storage = contract.signed_file.storage
        self.previous = contract.signed_file.name or ""
        contract.signed_file.save(upload.name, upload, save=False)
        self.name = contract.signed_file.name
        contract.file_name = str(upload.name)[:200]
        contract.file_type = content_type
        contract.file_size = upload.size

    def keep(self) -> None:
        previous, storage = self.previous, self.storage
        if previous:
            transaction.on_commit(lambda: storage.delete(previous))

    def discard(self) -> None:
        self.storage.delete(self.name)


def _storage_reason(exc: OSError) -> str:
    """Why the disk refused the file, in the reader's words where it is a usual why."""
    reasons = {
        errno.ENOSPC: _("the disk is full"),
        errno.EDQUOT: _("the disk quota is used up"),
        errno.EACCES: _("the server may not write there"),
        errno.EROFS: _("the disk is read-only"),
    }
    return str(reasons.get(exc.errno, exc.strerror or exc.__class__.__name__))


def _stored(contract: Contract, upload, content_type: str) -> _StoredFile:
    """The upload written to the private storage, or a refusal the user can read
    when the disk cannot take it (the storage leaves nothing of it behind)."""
    try:
        return _StoredFile(contract, upload, content_type)
    except OSError as exc:
        logger.error("a signed contract file could not be stored", exc_info=exc)
        raise ValidationError(
            _(
                "The file could not be stored on the server (%(reason)s). Nothing was "
                "saved; try again later or tell your administrator."
            ),
            code="file_storage",
            params={"reason": _storage_reason(exc)},
        ) from exc


def _write(contract: Contract, upload, content_type: str, write) -> Contract:
    """Run `write()` in a transaction with the upload stored; nothing stays of the
    file when the write fails."""
    stored = _stored(contract, upload, content_type) if upload is not None else None
    try:
        with transaction.atomic():
            write()
            if stored:
                stored.keep()
    except BaseException:
        if stored:
            stored.discard()
        raise
    return contract


def contract_create(
    *, actor: User, customer_id: int, data: Mapping[str, Any], upload=None, request=None
) -> Contract:
    """Record a contract (with its signed file, if given) for a customer the actor
    may work on; a number left empty is drawn from the sequence."""
    if not actor.has_perm("sales.add_contract"):
        raise ValidationError(_("You may not record contracts."), code="forbidden")
    customer = editable_customers(actor).filter(pk=customer_id).select_related("owner").first()
    if customer is None:
        raise ValidationError(
            _("You may not record contracts for this customer."), code="forbidden_customer"
        )
    values = _contract_values(actor, customer, data)
    content_type = signed_file_check(upload) if upload is not None else ""
    if values["number"] and _number_taken(values["number"], None):
        raise _number_error()
    now = timezone.now()
    contract = Contract(customer=customer, created_by=actor, created_at=now, updated_at=now)
    for name, value in values.items():
        setattr(contract, name, value)

    def write():
        contract.number = contract.number or contract_numbers_next()[0]
        try:
            with transaction.atomic():
                contract.save()
        except IntegrityError:  # the same number saved at the same moment
            raise _number_error() from None
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            target=contract,
            changes={
                "customer": (None, customer.number),
                **{name: (None, getattr(contract, name)) for name in ("number", "title", "kind")},
                "amount": (None, contract.amount),
                **({"signed_file": (None, contract.file_name)} if upload is not None else {}),
            },
            extra={"version": 1},
            request=request,
        )

    return _write(contract, upload, content_type, write)


def _locked(actor: User, contract_id: int, version: int | None) -> Contract:
    contract = customer_object_locked(
        Contract.objects, actor, contract_id, "sales.change_contract",
        _("You may not change this contract."),
    )  # fmt: skip
    if version is not None and version != contract.version:
        raise ContractConflict
    return contract


def _saved(contract: Contract, actor: User, changes, request) -> None:
    versioned_save(contract, actor, changes, request=request)


def contract_update(
    *,
    actor: User,
    contract_id: int,
    version: int,
    data: Mapping[str, Any],
    upload=None,
    request=None,
) -> Contract:
    """Change a contract that is not terminated; a new signed file replaces the old."""
    content_type = signed_file_check(upload) if upload is not None else ""
    with transaction.atomic():
        contract = _locked(actor, contract_id, version)
        if contract.status == ContractStatus.TERMINATED:
            raise ValidationError(_("A terminated contract is kept as it was."), code="closed")
        values = _contract_values(actor, contract.customer, {"owner": contract.owner, **data})
        values["number"] = values["number"] or contract.number
        if _number_taken(values["number"], contract.pk):
            raise _number_error()
        before = snapshot(contract, CONTRACT_FIELDS)
        old_file = contract.file_name
        for name, value in values.items():
            setattr(contract, name, value)

        def write():
            changes = diff(before, snapshot(contract, CONTRACT_FIELDS))
            if upload is not None:  # a new file is a change, even under the same name
                changes["signed_file"] = (old_file, contract.file_name)
            if changes:
                try:
                    with transaction.atomic():
                        _saved(contract, actor, changes, request)
                except IntegrityError:  # the same number saved at the same moment
                    raise _number_error() from None

        return _write(contract, upload, content_type, write)


def contract_status_change(*, actor: User, contract_id: int, status: str, request=None) -> Contract:
    """Put a draft in force (signed today unless a date is given), or terminate."""
    with transaction.atomic():
        contract = _locked(actor, contract_id, None)
        if status not in STATUS_MOVES.get(contract.status, ()):
            raise ValidationError(
                _("A contract that is %(status)s cannot become %(new)s."),
                code="bad_move",
                params={
                    "status": contract.get_status_display(),
                    "new": ContractStatus(status).label
                    if status in ContractStatus.values
                    else status,
                },
            )
        before = snapshot(contract, ("status", "signed_on"))
        contract.status = status
        if status == ContractStatus.ACTIVE and contract.signed_on is None:
            contract.signed_on = timezone.localdate()
        _saved(contract, actor, diff(before, snapshot(contract, ("status", "signed_on"))), request)
    return contract


def contract_file_opened(*, actor: User, contract: Contract, request=None) -> None:
    """A download of the signed file, in the audit log (it holds personal data)."""
    audit_record(
        actor=actor,
        action=AuditAction.VIEW_SENSITIVE,
        target=contract,
        extra={"file": contract.file_name},
        request=request,
    )
