"""Importing orders (销售记录): one row per line or per order, every row accounted for.

The file speaks of lines. Rows with the same order number form one order; a row
without an order number is an order of its own. Each row ends as:

- **created**: the first row of a new order;
- **merged**: a further line of an order begun on an earlier row;
- **rejected**: with the reason. A row that cannot be imported takes the rest of
  its order with it (each of those rows says so): an order is never written with
  some of its lines missing;
- **skipped**: a blank row.

The customer is found by customer number, phone or e-mail (through the blind
indexes), among the customers the importer may record orders for; anyone else's
customer is reported exactly like an unknown one. Products are found by SKU,
then by name; a product Kehu does not know becomes an inactive placeholder
(reported in the counts) for a steward to complete. Zero amounts and repeated
identical lines are real purchases and are kept. Order numbers already imported
are refused, so importing a file twice records nothing twice.

Like the customer import: all reading and deciding first, then one transaction
of COPY batches; a dry run or a preview stops before writing.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models.functions import Upper
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from crm.audit import audit_copy_rows, audit_record
from crm.bulkcopy import CopyPipeline, gc_paused, ids_reserve
from crm.fields import blind_index
from crm.models import AuditAction, AuditEvent, User
from crm.normalise import email_normalise, phone_normalise
from crm.sheets.reader import Sheet, SheetError
from customers.columns import header_key
from customers.import_jobs import JobKind
from customers.imports.base import SCAN_ROWS, ImportResult, Layout, Outcome, RowResult
from customers.imports.decide import customers_matching
from customers.imports.layout import (
    _cell_text,
    cell_problem,
    cells_pack,
    cells_text,
    data_rows,
)
from customers.metrics import metrics_refresh
from customers.selectors import assignable_owners, editable_customers
from sales.models import (
    BASE_CURRENCY,
    PURCHASE_STATUSES,
    ZERO,
    Currency,
    Order,
    OrderLine,
    OrderSource,
    OrderStatus,
    Product,
    cents,
)
from sales.rollup import order_key, sales_days_add
from sales.services import (
    LineInput,
    _rate_clean,
    order_lines_clean,
    order_numbers_next,
    ordered_at_clean,
)

BATCH = 5_000
PRODUCTS = "products"  # the count of placeholder products, beside the row outcomes
COUNTED = (Outcome.CREATED, Outcome.MERGED, Outcome.REJECTED, Outcome.SKIPPED)


@dataclass(frozen=True)
class OrderColumn:
    key: str
    label: Promise
    names: tuple[str, ...]  # headers recognised, Chinese and English


ORDER_COLUMNS = (
    OrderColumn("customer_number", gettext_lazy("Customer number"),
                ("客户编号", "客户号", "客户代码", "会员号", "Customer number", "Customer no",
                 "Customer ID", "Customer code")),
    OrderColumn("phone", gettext_lazy("Customer phone"),
                ("手机", "手机号", "手机号码", "电话", "联系电话", "客户手机", "Phone", "Mobile",
                 "Telephone", "Customer phone")),
    OrderColumn("email", gettext_lazy("Customer e-mail"),
                ("邮箱", "电子邮件", "电子邮箱", "客户邮箱", "E-mail", "Email",
                 "Customer e-mail")),
    OrderColumn("order_number", gettext_lazy("Order number"),
                ("订单号", "订单编号", "单号", "订单号码", "Order number", "Order no", "Order ID")),
    OrderColumn("ordered_at", gettext_lazy("Order date"),
                ("下单日期", "日期", "下单时间", "订单日期", "成交日期", "购买日期", "Order date",
                 "Date", "Ordered at", "Purchase date")),
    OrderColumn("product", pgettext_lazy("import column", "Product"),
                ("产品", "商品", "产品名称", "商品名称", "产品编号", "货号", "SKU", "Product",
                 "Item", "Product name")),
    OrderColumn("quantity", gettext_lazy("Quantity"),
                ("数量", "购买数量", "Quantity", "Qty")),
    OrderColumn("unit_price", gettext_lazy("Unit price"),
                ("单价", "价格", "售价", "Unit price", "Price")),
    OrderColumn("amount", gettext_lazy("Amount"),
                ("金额", "小计", "总价", "行金额", "成交金额", "Amount", "Line total")),
    OrderColumn("discount", gettext_lazy("Discount %"),
                ("折扣", "折扣率", "折扣%", "Discount", "Discount %")),
    OrderColumn("salesperson", gettext_lazy("Salesperson"),
                ("销售员", "销售", "业务员", "销售人员", "Salesperson", "Sales rep", "Seller")),
    OrderColumn("status", gettext_lazy("Order status"),
                ("状态", "订单状态", "Status", "Order status")),
    OrderColumn("currency", gettext_lazy("Currency"), ("币种", "货币", "Currency")),
    OrderColumn("exchange_rate", gettext_lazy("Exchange rate to CNY"),
                ("汇率", "Exchange rate", "Exchange rate to CNY")),
    OrderColumn("notes", gettext_lazy("Order notes"), ("备注", "说明", "Notes", "Remarks")),
)  # fmt: skip
BY_KEY = {column.key: column for column in ORDER_COLUMNS}
CUSTOMER_KEYS = ("customer_number", "phone", "email")
MONEY_KEYS = ("product", "unit_price", "amount")


@functools.cache
def _known_headers() -> dict[str, str]:
    known: dict[str, str] = {}
    for column in ORDER_COLUMNS:
        for name in (column.key, *column.names):
            known.setdefault(header_key(name), column.key)
    return known


def column_for_order_header(text: object) -> str | None:
    return _known_headers().get(header_key(text))


def order_targets() -> list[tuple[str, Promise]]:
    """What a column may be imported as, for the wizard's drop-downs."""
    return [(column.key, column.label) for column in ORDER_COLUMNS]


# --- layout ----------------------------------------------------------------------


def orders_layout_detect(sheet: Sheet, *, sheet_name: str = "") -> Layout:
    """The header row (the row among the first ones naming most order fields) and
    what each column holds; a second column for one field is ignored."""
    best: tuple[int, int, dict[int, object]] | None = None
    for scanned, (row_number, cells) in enumerate(sheet.rows(sheet=sheet_name or None)):
        score = sum(1 for value in cells.values() if column_for_order_header(_cell_text(value)))
        if score and (best is None or score > best[0]):
            best = (score, row_number, cells)
        if scanned + 1 >= SCAN_ROWS:
            break
    if best is None:
        raise SheetError(
            _(
                "No column heading names an order field. Put the headings in the first "
                "row, e.g. 客户编号 / Customer number, 下单日期 / Order date, 产品 / Product, "
                "数量 / Quantity and 金额 / Amount."
            ),
            "no_headers",
        )
    _score, header_row, cells = best
    columns, mapping, seen = [], [], set()
    for col in range(1, max(cells) + 1):
        name = _cell_text(cells.get(col)).strip()
        key = column_for_order_header(name) if name else None
        columns.append(name or f"#{col}")
        mapping.append(key if key and key not in seen else "")
        seen.add(key)
    return Layout(
        sheet=sheet_name or sheet.sheet_names[0],
        header_rows=[header_row],
        columns=columns,
        mapping=mapping,
    )


def orders_mapping_errors(layout: Layout) -> list[str]:
    errors = []
    chosen: dict[str, list[str]] = defaultdict(list)
    for key, header in zip(layout.mapping, layout.columns, strict=True):
        if key:
            if key not in BY_KEY:
                errors.append(_("“%(column)s” is mapped to an unknown field.") % {"column": header})
                continue
            chosen[key].append(header)
    for key, headers in chosen.items():
        if len(headers) > 1:
            errors.append(
                _("%(field)s comes from more than one column (%(columns)s); choose one.")
                % {"field": BY_KEY[key].label, "columns": "、".join(headers)}
            )
    if not any(key in chosen for key in CUSTOMER_KEYS):
        errors.append(
            _("Choose the column that finds the customer: customer number, phone or e-mail.")
        )
    if "ordered_at" not in chosen:
        errors.append(_("Choose the column that holds the order date."))
    if not any(key in chosen for key in MONEY_KEYS):
        errors.append(_("Choose the column with the amount, the unit price or the product."))
    return errors


# --- reading -------------------------------------------------------------------


_MOMENT = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[\sT]+(\d{1,2})[:：时](\d{1,2})(?:[:：分](\d{1,2}))?秒?)?"
)
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_EXCEL_EPOCH = datetime.date(1899, 12, 30)
_ZHE = re.compile(r"(\d(?:\.\d{1,2})?)\s*折")


def _moment_parse(value: object) -> datetime.datetime | datetime.date:
    """An order date (and time) from a cell: a date cell, an Excel day number, or
    text such as 2026-03-05, 2026/3/5 14:30 or 2026年3月5日. Raises ValueError."""
    if isinstance(value, datetime.datetime | datetime.date):
        return value
    if isinstance(value, int) and 19_000_101 <= value <= 99_991_231:
        value = str(value)  # 20260305 typed into a number cell
    elif isinstance(value, int | Decimal | float) and not isinstance(value, bool):
        if not 367 <= value < 2_958_466:
            raise ValueError(value)
        start = datetime.datetime.combine(_EXCEL_EPOCH, datetime.time(), _local())
        return start + datetime.timedelta(days=float(value))  # the wall clock of the file
    text = unicodedata.normalize("NFKC", str(value)).strip()
    match = _MOMENT.fullmatch(text) or _COMPACT.fullmatch(text)
    if match is None:
        return datetime.datetime.fromisoformat(text)  # 2026-03-05T14:30:00+08:00
    year, month, day, *clock = match.groups() + (None,) * (6 - len(match.groups()))
    if clock[0] is None:
        return datetime.date(int(year), int(month), int(day))
    hour, minute, second = int(clock[0]), int(clock[1]), int(clock[2] or 0)
    return datetime.datetime(int(year), int(month), int(day), hour, minute, second, tzinfo=_local())


def _local() -> datetime.tzinfo:
    return timezone.get_current_timezone()


def _status_names() -> dict[str, str]:
    names = {}
    for language in ("en", "zh-hans"):
        with translation.override(language):
            for value, label in OrderStatus.choices:
                names[header_key(label)] = value
    names.update({header_key(value): value for value in OrderStatus.values})
    extra = {"已完成": "completed", "完成": "completed", "已付款": "paid", "已支付": "paid",
             "待付款": "pending", "待支付": "pending", "已发货": "shipped", "已取消": "cancelled",
             "取消": "cancelled", "已退款": "refunded", "退款": "refunded"}  # fmt: skip
    names.update({header_key(k): v for k, v in extra.items()})
    return names


_CURRENCY_NAMES = {"人民币": "CNY", "元": "CNY", "rmb": "CNY", "美元": "USD", "欧元": "EUR",
                   "港币": "HKD", "港元": "HKD", "日元": "JPY"}  # fmt: skip


@dataclass(slots=True)
class _Row:
    row_number: int
    cells: str | tuple[str, ...]
    problems: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    customer_keys: list[tuple[str, str, str]] = field(default_factory=list)  # kind, key, shown


def _label(key: str) -> str:
    return str(BY_KEY[key].label)


def _row_read(
    row_number: int, cells: dict[int, object], layout: Layout, statuses: dict, moments: dict
) -> _Row:
    row = _Row(row_number, cells_pack(cells, len(layout.columns)))
    values = row.values
    for col, key in enumerate(layout.mapping, start=1):
        value = cells.get(col)
        if not key or value is None or (isinstance(value, str) and not value.strip()):
            continue
        problem = cell_problem(value, layout.columns[col - 1], col, row_number)
        if problem:
            row.problems.append(problem)
            continue
        if isinstance(value, Decimal | float):
            # Excel keeps 15 significant digits; what lies beyond is binary noise
            # (89.9 is stored as 89.900000000000006).
            value = Decimal(f"{float(value):.15g}")
        values[key] = value
    _customer_keys(row)
    _values_clean(row, statuses, moments)
    return row


def _customer_keys(row: _Row) -> None:
    values = row.values
    number = values.pop("customer_number", None)
    if number is not None:
        text = _cell_text(number).strip().upper()
        row.customer_keys.append(("number", text, text))
    phone = values.pop("phone", None)
    if phone is not None:
        try:
            e164 = phone_normalise(_cell_text(phone))
            row.customer_keys.append(("phone", blind_index(e164), _cell_text(phone).strip()))
        except ValidationError as exc:
            row.problems.append(f"{_label('phone')}: {exc.messages[0]}")
    email = values.pop("email", None)
    if email is not None:
        try:
            address = email_normalise(_cell_text(email))
            row.customer_keys.append(("email", blind_index(address), address))
        except ValidationError as exc:
            row.problems.append(f"{_label('email')}: {exc.messages[0]}")
    if not row.customer_keys and not row.problems:
        row.problems.append(
            _("The row names no customer: give the customer number, phone or e-mail.")
        )


def _moment_clean(value: object) -> tuple[datetime.datetime | None, str]:
    try:
        return ordered_at_clean(_moment_parse(value)), ""
    except (ValueError, OverflowError):
        return None, _("%(field)s: Enter a date such as 2026-03-05 or 2026-03-05 14:30.") % {
            "field": _label("ordered_at")
        }
    except ValidationError as exc:
        return None, f"{_label('ordered_at')}: {exc.messages[0]}"


def _values_clean(row: _Row, statuses: dict[str, str], moments: dict) -> None:
    values, problems = row.values, row.problems
    for key in ("order_number", "product", "salesperson", "notes"):
        if key in values:
            values[key] = " ".join(_cell_text(values[key]).split())
    if len(values.get("order_number", "")) > 64:
        problems.append(_("%(field)s: At most 64 characters.") % {"field": _label("order_number")})
    discount = values.get("discount")
    if isinstance(discount, str):
        text = unicodedata.normalize("NFKC", discount).strip()
        if folded := _ZHE.fullmatch(text):  # 9折 / 8.5折: the share paid, in tenths
            values["discount"] = (Decimal(100) - Decimal(folded.group(1)) * 10).normalize()
        else:
            values["discount"] = text.removesuffix("%").strip()
    moment = values.pop("ordered_at", None)
    if moment is None:
        problems.append(_("%(field)s: Enter the order date.") % {"field": _label("ordered_at")})
    else:
        if moment not in moments:  # an order history repeats its days
            moments[moment] = _moment_clean(moment)
        values["ordered_at"], problem = moments[moment]
        if problem:
            problems.append(problem)
    if "status" in values:
        status = statuses.get(header_key(values["status"]))
        if status is None:
            problems.append(
                _("%(field)s: “%(value)s” is not an order status.")
                % {"field": _label("status"), "value": _cell_text(values["status"])[:40]}
            )
        elif status == OrderStatus.REFUNDED:
            problems.append(
                _(
                    "%(field)s: A refund is recorded on the order's page; import the order "
                    "as completed, then record the refund."
                )
                % {"field": _label("status")}
            )
        values["status"] = status
    if "currency" in values:
        text = _cell_text(values["currency"]).strip()
        currency = _CURRENCY_NAMES.get(text.casefold(), text.upper())
        if currency not in Currency.values:
            problems.append(
                _("%(field)s: “%(value)s” is not a currency Kehu records (%(known)s).")
                % {"field": _label("currency"), "value": text[:10], "known": ", ".join(Currency)}
            )
        values["currency"] = currency
    currency = values.get("currency", BASE_CURRENCY)
    if currency != BASE_CURRENCY or "exchange_rate" in values:
        try:
            values["exchange_rate"] = _rate_clean(currency, values.get("exchange_rate"))
        except ValidationError as exc:
            problems.append(f"{_label('exchange_rate')}: {exc.messages[0]}")


def orders_read(
    sheet: Sheet,
    layout: Layout,
    *,
    limit: int | None = None,
    progress: Callable[[float, int], None] | None = None,
) -> tuple[list[_Row], int]:
    """Every data row read and checked on its own (nothing looked up yet), and the
    number of blank rows."""
    statuses = _status_names()
    moments: dict[object, tuple[datetime.datetime | None, str]] = {}
    rows: list[_Row] = []
    skipped = [0]
    for row_number, cells in data_rows(sheet, layout, skipped):
        rows.append(_row_read(row_number, cells, layout, statuses, moments))
        if limit is not None and len(rows) >= limit:
            break
        if progress is not None and len(rows) % 5000 == 0:
            progress(sheet.progress, len(rows))
    return rows, skipped[0]


# --- looking up ------------------------------------------------------------------


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


# --- deciding --------------------------------------------------------------------


@dataclass(slots=True)
class _Order:
    first_row: int
    external_number: str
    customer_id: int
    customer_number: str
    salesperson_id: int | None
    ordered_at: datetime.datetime
    status: str
    currency: str
    exchange_rate: Decimal
    notes: list[str] = field(default_factory=list)
    lines: list[dict[str, Any]] = field(default_factory=list)


_HEAD = ("ordered_at", "status", "currency", "exchange_rate")


def _line_problems(exc: ValidationError) -> list[str]:
    labels = {"product": "product", "quantity": "quantity", "unit_price": "unit_price",
              "discount_percent": "discount"}  # fmt: skip
    problems = []
    for key, errors in exc.message_dict.items():
        name = key.rsplit(".", 1)[-1]
        label = _label(labels[name]) if name in labels else ""
        problems.extend(f"{label}: {message}" if label else message for message in errors)
    return problems


def _row_order(
    row: _Row, lookups: _Lookups, default_status: str, currency: str = BASE_CURRENCY
) -> tuple[_Order | None, list]:
    """The row as an order of one line (merged later with its order's other rows);
    `currency` is the order's when the row gives none."""
    values = row.values
    customer_id, problem = lookups.customer(row)
    problems = [problem] if problem else []
    product = None
    if values.get("product"):
        product, problem = lookups.product(values["product"])
        if problem:
            problems.append(problem)
    number, owner = lookups.customers.get(customer_id, ("", None))
    salesperson, problem = lookups.salesperson(values.get("salesperson", ""), owner)
    if problem:
        problems.append(problem)
    currency = values.get("currency", currency)
    line = LineInput(
        product=product,
        description="" if product is not None else lookups.unnamed,
        quantity=values.get("quantity", 1),
        unit_price=values.get("unit_price"),
        discount_percent=values.get("discount"),
        amount=values.get("amount"),
    )
    if product is not None and product.pk is None:
        line.product = None  # a placeholder: linked when written
        line.description = product.name
    try:
        (clean,) = order_lines_clean([line], currency, historic=True)
    except ValidationError as exc:
        problems.extend(_line_problems(exc))
        clean = None
    if problems or customer_id is None or clean is None:
        return None, problems
    clean["placeholder"] = product if product is not None and product.pk is None else None
    order = _Order(
        first_row=row.row_number,
        external_number=values.get("order_number", ""),
        customer_id=customer_id,
        customer_number=number,
        salesperson_id=salesperson,
        ordered_at=values["ordered_at"],
        status=values.get("status") or default_status,
        currency=currency,
        exchange_rate=values.get("exchange_rate", Decimal(1)),
        notes=[values["notes"]] if values.get("notes") else [],
        lines=[clean],
    )
    return order, []


def _conflicts(order: _Order, row: _Order, explicit: dict[str, Any]) -> list[str]:
    """What a further row of an order says differently from the order's first row."""
    problems = []
    if row.customer_id != order.customer_id:
        problems.append(
            _("The order's row %(row)d is for customer %(first)s; this row for %(this)s.")
            % {"row": order.first_row, "first": order.customer_number, "this": row.customer_number}
        )
    if "salesperson" in explicit and row.salesperson_id != order.salesperson_id:
        problems.append(
            _("%(field)s differs from the order's row %(row)d.")
            % {"field": _label("salesperson"), "row": order.first_row}
        )
    for key in _HEAD:
        if key in explicit and getattr(row, key) != getattr(order, key):
            problems.append(
                _("%(field)s differs from the order's row %(row)d.")
                % {"field": _label(key), "row": order.first_row}
            )
    return problems


def orders_decide(
    rows: list[_Row], actor: User, *, default_status: str = OrderStatus.COMPLETED
) -> tuple[list[RowResult], list[_Order]]:
    lookups = _Lookups(actor, rows)
    groups: dict[object, list[_Row]] = {}
    for row in rows:
        key = row.values.get("order_number") or ("row", row.row_number)
        groups.setdefault(key, []).append(row)
    outcomes: dict[int, RowResult] = {}
    orders: list[_Order] = []
    for key, members in groups.items():
        order: _Order | None = None
        failed: dict[int, list[str]] = {}
        if isinstance(key, str) and key in lookups.taken:
            message = _("Order number %(number)s is in Kehu already; it was not imported again.")
            failed = {row.row_number: [message % {"number": key}] for row in members}
        for row in members if not failed else ():
            if row.problems:
                failed[row.row_number] = row.problems
                continue
            # A further line without a currency is in its order's (JPY has no cents).
            currency = order.currency if order is not None else BASE_CURRENCY
            single, problems = _row_order(row, lookups, default_status, currency)
            if not problems and order is not None:
                problems = _conflicts(order, single, row.values)
            if problems:
                failed[row.row_number] = problems
            elif order is None:
                order = single
            else:
                order.lines.extend(single.lines)
                order.notes.extend(n for n in single.notes if n not in order.notes)
        if failed:
            first_bad = min(failed)
            for row in members:
                reasons = failed.get(row.row_number) or [
                    _(
                        "Row %(row)d of the same order %(number)s was rejected, so none of "
                        "the order's rows was imported."
                    )
                    % {"row": first_bad, "number": key}
                ]
                outcomes[row.row_number] = RowResult(
                    row.row_number, Outcome.REJECTED, "; ".join(reasons), cells=row.cells
                )
            continue
        orders.append(order)
        for index, row in enumerate(members):
            outcome = Outcome.CREATED if index == 0 else Outcome.MERGED
            outcomes[row.row_number] = RowResult(
                row.row_number, outcome, number=order.external_number, cells=row.cells
            )
    results = [outcomes[row.row_number] for row in rows]
    return results, orders


# --- writing ---------------------------------------------------------------------


def _status_moments(status: str, moment: datetime.datetime) -> dict[str, Any]:
    reached = {
        OrderStatus.PAID: ("paid_at",),
        OrderStatus.SHIPPED: ("paid_at", "shipped_at"),
        OrderStatus.COMPLETED: ("paid_at", "completed_at"),
        OrderStatus.CANCELLED: ("cancelled_at",),
    }.get(status, ())
    return dict.fromkeys(reached, moment)


def _orders_write(
    actor: User,
    orders: list[_Order],
    placeholders: Iterable[Product],
    source: str,
    counts: dict[str, int],
    progress: Callable[[float, int], None] | None,
) -> None:
    now = timezone.now()
    created = Product.objects.bulk_create(_skus_unique(list(placeholders)))
    if created:
        items = [(p.pk, str(p), {"sku": [None, p.sku], "name": [None, p.name]}) for p in created]
        AuditEvent.objects.bulk_create(
            AuditEvent(**row)
            for row in audit_copy_rows(
                actor, AuditAction.CREATE, Product, items, {"import": source}
            )
        )
    team_of = dict(User.objects.filter(is_active=True).values_list("pk", "team_id"))
    ids = iter(ids_reserve(Order, len(orders)))
    numbers = iter(order_numbers_next(len(orders)))
    ContentType.objects.get_for_model(Order)  # into the cache, before the pipeline
    extra = {"import": source, "version": 1}
    days: dict[tuple, tuple] = {}
    with CopyPipeline() as pipeline:
        for start in range(0, len(orders), BATCH):
            order_rows, line_rows, audits = [], [], []
            for order in orders[start : start + BATCH]:
                pk, number = next(ids), next(numbers)
                total = sum((line["line_total"] for line in order.lines), ZERO)
                order_rows.append(
                    {
                        "id": pk, "number": number, "external_number": order.external_number,
                        "customer_id": order.customer_id, "salesperson_id": order.salesperson_id,
                        "team_id": team_of.get(order.salesperson_id),
                        "ordered_at": order.ordered_at, "status": order.status,
                        "currency": order.currency, "exchange_rate": order.exchange_rate,
                        "total": total, "refunded": ZERO, "notes": "\n".join(order.notes),
                        "source": OrderSource.IMPORT, "version": 1, "created_by_id": actor.pk,
                        "created_at": now, "updated_at": now,
                        **_status_moments(order.status, order.ordered_at),
                    }
                )  # fmt: skip
                for position, line in enumerate(order.lines):
                    placeholder = line.pop("placeholder")
                    product = line.pop("product") or placeholder
                    line_rows.append(
                        {"order_id": pk, "product_id": product.pk if product else None,
                         "position": position, **line}
                    )  # fmt: skip
                changes = {
                    "customer": [None, order.customer_number],
                    "status": [None, order.status],
                    "total": [None, str(total)],
                    "currency": [None, order.currency],
                    "lines": [None, len(order.lines)],
                }
                if order.status in PURCHASE_STATUSES:  # new purchases add to their day
                    key = order_key(order.ordered_at, order.salesperson_id,
                                    team_of.get(order.salesperson_id))  # fmt: skip
                    revenue, count = days.get(key, (ZERO, 0))
                    days[key] = (revenue + cents(total * order.exchange_rate), count + 1)
                label = f"{number} ({order.external_number})" if order.external_number else number
                audits.append((pk, label, changes))
            pipeline.send(Order, order_rows)
            pipeline.send(OrderLine, line_rows, ids=False)
            pipeline.send(
                AuditEvent,
                audit_copy_rows(actor, AuditAction.CREATE, Order, audits, extra),
                ids=False,
            )
            if progress:
                done = start + len(order_rows)
                progress(0.7 + 0.25 * done / max(len(orders), 1), done)
    metrics_refresh(sorted({order.customer_id for order in orders}))
    sales_days_add(days)
    audit_record(
        actor=actor, action=AuditAction.IMPORT, extra={"file": source, "kind": "orders", **counts}
    )


def orders_import(
    *,
    actor: User,
    sheet: Sheet,
    layout: Layout,
    dry_run: bool = False,
    preview: int = 0,
    progress: Callable[[float, int], None] | None = None,
    source: str = "",
    default_status: str = OrderStatus.COMPLETED,
) -> ImportResult:
    """Import the sheet's orders as `actor`. Raises SheetError for a file or mapping
    that cannot be used; every row is created, merged or rejected with its reason."""
    if not actor.has_perm("sales.add_order"):
        raise SheetError(_("You may not import orders."), "forbidden")
    errors = orders_mapping_errors(layout)
    if errors:
        raise SheetError(" ".join(errors), "mapping")
    with gc_paused():
        return _orders_import(
            actor, sheet, layout, dry_run, preview, progress, source, default_status
        )


def _orders_import(actor, sheet, layout, dry_run, preview, progress, source, default_status):
    rows, skipped = orders_read(
        sheet,
        layout,
        limit=preview or None,
        progress=(lambda f, n: progress(f * 0.5, n)) if progress else None,
    )
    results, orders = orders_decide(rows, actor, default_status=default_status)
    del rows
    counts = dict.fromkeys(COUNTED, 0)
    counts[Outcome.SKIPPED] = skipped
    placeholders = {
        id(line["placeholder"]): line["placeholder"]
        for order in orders
        for line in order.lines
        if line["placeholder"] is not None
    }
    counts[PRODUCTS] = len(placeholders)
    width = len(layout.columns)
    for index, result in enumerate(results):
        counts[result.outcome] += 1
        keep = result.outcome == Outcome.REJECTED or index < preview
        result.cells = cells_text(result.cells, width) if keep else []
    if not dry_run and not preview:
        try:
            with transaction.atomic():
                products = list(placeholders.values())
                _orders_write(actor, orders, products, source or "import", counts, progress)
        except IntegrityError:  # another import took the same order numbers meanwhile
            raise SheetError(
                _(
                    "Another import recorded some of these orders at the same moment, so "
                    "nothing of this file was imported. Import it again: the orders "
                    "already in Kehu will be reported as such."
                ),
                "conflict",
            ) from None
    return ImportResult(
        counts=counts,
        rejected=[r for r in results if r.outcome == Outcome.REJECTED],
        preview=results[:preview] if preview else [],
        layout=layout,
    )


def orders_counts_line(counts: dict[str, int]) -> str:
    rows = sum(counts.get(key, 0) for key in COUNTED)
    return _(
        "%(rows)d rows: %(created)d orders created, %(merged)d rows merged into an order, "
        "%(rejected)d rejected, %(skipped)d skipped; %(products)d placeholder products created"
    ) % {"rows": rows, **{key: counts.get(key, 0) for key in (*COUNTED, PRODUCTS)}}


def _job_run(job, **arguments) -> ImportResult:
    return orders_import(actor=job.created_by, **arguments)


def import_kind() -> JobKind:
    """The order import as the import wizard offers it (registered in SalesConfig)."""
    return JobKind(
        permission="sales.add_order",
        refused=lambda: _("You may not import orders."),
        detect=orders_layout_detect,
        mapping_errors=orders_mapping_errors,
        run=_job_run,
        targets=order_targets,
        counts_line=orders_counts_line,
    )
