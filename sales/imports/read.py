"""Reading an order file: every data row read and checked on its own, before
anything is looked up. The customer's keys (number, phone, e-mail) are taken
out of the row; dates in any usual form (date cells, Excel day numbers, 2026年3月5日),
statuses and currencies in either language, discounts such as 9折 and exchange
rates are cleaned, and each problem is kept with the row in the user's
language."""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from crm.fields import blind_index
from crm.normalise import email_normalise, phone_normalise
from crm.sheets.sheet import Sheet
from customers.columns import header_key
from customers.imports.base import Layout
from customers.imports.layout import _cell_text, cell_problem, cells_pack, data_rows
from sales.imports.base import _label
from sales.models import BASE_CURRENCY, Currency, OrderStatus
from sales.services.orders import _rate_clean, ordered_at_clean

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
