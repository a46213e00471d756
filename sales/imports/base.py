"""The order import's vocabulary: the columns an order file may have (each with
the Chinese and English headings recognised), which of them find the customer
and which give the money, the counts an import reports beside the row outcomes,
and the batch size of its queries and writes."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy, pgettext_lazy

from customers.columns import header_key
from customers.imports.base import Outcome

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


def _label(key: str) -> str:
    return str(BY_KEY[key].label)
