"""Writing what was decided, in one transaction: the placeholder products, then
the orders with their lines and audit events in COPY batches, the sales days
the new purchases add to, and the customers' purchase metrics."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from crm.audit import audit_copy_rows, audit_record
from crm.bulkcopy import CopyPipeline, ids_reserve
from crm.models import AuditAction, AuditEvent, User
from customers.metrics import metrics_refresh
from sales.imports.base import BATCH
from sales.imports.decide import _Order
from sales.imports.lookups import _skus_unique
from sales.models import (
    PURCHASE_STATUSES,
    ZERO,
    Order,
    OrderLine,
    OrderSource,
    OrderStatus,
    Product,
    cents,
)
from sales.rollup import order_key, sales_days_add
from sales.services.orders import order_numbers_next


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
