"""Every write to the product catalogue: a product's values checked (the SKU
folded to upper case, unique whatever its case; the list price in its
currency's places), saved and audited. A steward's change to a placeholder's
name or SKU marks it complete."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.audit import audit_record, diff, snapshot
from crm.models import AuditAction, User
from crm.normalise import length_check
from sales.models import BASE_CURRENCY, Product
from sales.services.values import _code, _currency_clean, _text, money_clean

PRODUCT_FIELDS = (
    "sku",
    "name",
    "category",
    "brand",
    "variant",
    "unit",
    "list_price",
    "currency",
    "is_active",
    "description",
)


def product_values(data: Mapping[str, Any]) -> dict[str, Any]:
    errors: dict[str, list] = {}
    values: dict[str, Any] = {
        "sku": _code(data.get("sku")),
        "name": _text(data.get("name"), 0),
        "category": _text(data.get("category"), 0),
        "brand": _text(data.get("brand"), 0),
        "variant": _text(data.get("variant"), 0),
        "unit": _text(data.get("unit"), 0),
        "description": str(data.get("description") or "").strip(),
        "is_active": bool(data.get("is_active", True)),
    }
    if not values["sku"]:
        errors["sku"] = [ValidationError(_("Enter the SKU (货号)."), code="required")]
    if not values["name"]:
        errors["name"] = [ValidationError(_("Enter the product's name."), code="required")]
    for name in ("sku", "name", "category", "brand", "variant", "unit"):
        length_check(errors, name, values[name], Product._meta.get_field(name).max_length)
    try:
        values["currency"] = _currency_clean(data.get("currency"))
    except ValidationError as exc:
        errors.update(exc.error_dict)
        values["currency"] = BASE_CURRENCY
    try:
        values["list_price"] = money_clean(data.get("list_price"), values["currency"])
    except ValidationError as exc:
        errors["list_price"] = [exc]
    if errors:
        raise ValidationError(errors)
    return values


def sku_taken(sku: str) -> ValidationError:
    return ValidationError(
        {
            "sku": ValidationError(
                _("Another product already has SKU %(sku)s."),
                code="duplicate_sku",
                params={"sku": sku},
            )
        }
    )


@transaction.atomic
def product_save(
    *, actor: User, data: Mapping[str, Any], product_id: int | None = None, request=None
) -> Product:
    """Create a product, or change one; the SKU is unique whatever its case."""
    permission = "sales.add_product" if product_id is None else "sales.change_product"
    if not actor.has_perm(permission):
        raise ValidationError(_("You may not change the product catalogue."), code="forbidden")
    values = product_values(data)
    if product_id is None:
        product, before = Product(), {}
    else:
        product = Product.objects.select_for_update().filter(pk=product_id).first()
        if product is None:
            raise ValidationError(_("This product does not exist any more."), code="gone")
        before = snapshot(product, PRODUCT_FIELDS)
    if Product.objects.filter(sku__iexact=values["sku"]).exclude(pk=product.pk).exists():
        raise sku_taken(values["sku"])
    changes = diff(before, values)
    if product_id is not None and not changes:
        return product
    for name, value in values.items():
        setattr(product, name, value)
    if product_id is not None and ("name" in changes or "sku" in changes):
        product.is_placeholder = False  # a steward has completed it
    product.updated_at = timezone.now()
    try:
        with transaction.atomic():
            product.save()
    except IntegrityError:  # saved by someone else this instant
        raise sku_taken(values["sku"]) from None
    audit_record(
        actor=actor,
        action=AuditAction.CREATE if product_id is None else AuditAction.UPDATE,
        target=product,
        changes=changes,
        request=request,
    )
    return product
