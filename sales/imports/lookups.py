"""Looking up what the rows name, in batches: the customers the importer may
record orders for (by number, or by phone and e-mail through the blind
indexes), products by SKU then by name, salespeople by user name, and the order
numbers already in Kehu. A product Kehu does not know becomes an inactive
placeholder whose SKU is made unique before it is written."""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterator

from django.db.models.functions import Upper
from django.utils.translation import gettext as _

from crm.models import User
from customers.imports.decide import customers_matching
from customers.selectors import assignable_owners, editable_customers
from sales.imports.base import BATCH, _label
from sales.imports.read import _Row
from sales.models import ZERO, Order, Product


def _chunks(values: list, size: int = BATCH) -> Iterator[list]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


class _Lookups:
    """Customers, products, salespeople and known order numbers, fetched in batches."""

    def __init__(self, actor: User, rows: list[_Row]):
        self.actor = actor
        keys = {(kind, key) for row in rows for kind, key, _shown in row.customer_keys}
        matches = customers_matching(keys)
        candidates = sorted({pk for ids in matches.values() for pk in ids if pk > 0})
        self.customers: dict[int, tuple[str, int | None]] = {}  # pk: (number, owner)
        for part in _chunks(candidates):
            self.customers.update(
                (pk, (number, owner))
                for pk, number, owner in editable_customers(actor)
                .filter(pk__in=part)
                .values_list("pk", "number", "owner_id")
            )
        # Customers the actor may not work on are left out: reported as unknown.
        self.matches = {
            key: {pk for pk in ids if pk in self.customers} for key, ids in matches.items()
        }
        self._products(rows)
        self._users()
        self.unnamed = _("Imported item")  # a line without a product
        numbers = sorted(
            {row.values["order_number"] for row in rows if "order_number" in row.values}
        )
        self.taken: set[str] = set()
        # `<> ''` as in the partial unique index's condition, which the planner cannot
        # prove from a long IN list: without it, a scan of every order.
        known = Order.objects.exclude(external_number="")
        for part in _chunks(numbers):
            self.taken.update(
                known.filter(external_number__in=part).values_list("external_number", flat=True)
            )
            self.taken.update(
                Order.objects.filter(number__in=part).values_list("number", flat=True)
            )

    def _products(self, rows: list[_Row]) -> None:
        texts = sorted({row.values["product"] for row in rows if row.values.get("product")})
        self.by_sku: dict[str, Product] = {}
        self.by_name: dict[str, list[Product]] = defaultdict(list)
        for part in _chunks(texts):
            upper = [text.upper() for text in part]
            for product in Product.objects.annotate(sku_upper=Upper("sku")).filter(
                sku_upper__in=upper
            ):
                self.by_sku[product.sku.upper()] = product
            for product in Product.objects.filter(name__in=part):
                self.by_name[product.name].append(product)
        self.placeholders: dict[str, Product] = {}

    def _users(self) -> None:
        self.users: dict[str, set[int]] = defaultdict(set)
        self.teams: dict[int, int | None] = {}
        for user in User.objects.filter(is_active=True):
            self.teams[user.pk] = user.team_id
            for name in {user.get_username(), str(user)}:
                self.users[name.casefold()].add(user.pk)
        self.assignable = set(assignable_owners(self.actor).values_list("pk", flat=True))
        self.assignable.add(self.actor.pk)

    def customer(self, row: _Row) -> tuple[int | None, str]:
        found: set[int] = set()
        for kind, key, _shown in row.customer_keys:
            found |= self.matches.get((kind, key), set())
        if len(found) == 1:
            return found.pop(), ""
        named = "、".join(shown for _kind, _key, shown in row.customer_keys)
        if not found:
            return None, _("No customer you may record orders for matches %(customer)s.") % {
                "customer": named
            }
        return None, _("%(customer)s match several customers; give the customer number.") % {
            "customer": named
        }

    def product(self, text: str) -> tuple[Product | None, str]:
        product = self.by_sku.get(text.upper())
        if product is not None:
            return product, ""
        named = self.by_name.get(text, [])
        if len(named) == 1:
            return named[0], ""
        if len(named) > 1:
            return None, _("%(field)s: Several products are named “%(name)s”; give the SKU.") % {
                "field": _label("product"),
                "name": text[:60],
            }
        if text not in self.placeholders:
            self.placeholders[text] = Product(
                sku=_placeholder_sku(text, self.by_sku),
                name=text[:200],
                list_price=ZERO,
                is_active=False,
                is_placeholder=True,
                description=_("Created by an order import; complete its details."),
            )
        return self.placeholders[text], ""

    def salesperson(self, text: str, owner: int | None) -> tuple[int | None, str]:
        if not text:
            return owner, ""
        ids = self.users.get(text.casefold(), set())
        if len(ids) != 1:
            return None, _("%(field)s: “%(name)s” is not a user of Kehu.") % {
                "field": _label("salesperson"),
                "name": text[:40],
            }
        (pk,) = ids
        if pk != owner and pk not in self.assignable:
            return None, _("%(field)s: You may not record orders for %(name)s.") % {
                "field": _label("salesperson"),
                "name": text[:40],
            }
        return pk, ""


_SKU_LIKE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,39}")


def _placeholder_sku(text: str, taken: dict[str, Product]) -> str:
    """The text itself when it looks like a SKU, else IMP- and a digest of it."""
    if _SKU_LIKE.fullmatch(text) and text.upper() not in taken:
        return text
    return "IMP-" + hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:10].upper()


def _skus_unique(products: list[Product]) -> list[Product]:
    """Placeholder SKUs made unique against each other and the catalogue (a steward
    may have renamed an earlier placeholder and kept its SKU)."""
    wanted = [product.sku.upper() for product in products]
    used: set[str] = set()
    for part in _chunks(wanted):
        used.update(
            Product.objects.annotate(sku_upper=Upper("sku"))
            .filter(sku_upper__in=part)
            .values_list("sku_upper", flat=True)
        )
    for product in products:
        base, suffix = product.sku, 1
        while product.sku.upper() in used:
            suffix += 1
            product.sku = f"{base[:36]}-{suffix}"
        used.add(product.sku.upper())
    return products
