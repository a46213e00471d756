"""Demo sales for `seed_demo [--orders N]`: a product catalogue, and orders with a
seasonal rhythm (双十一, 年货 before the Spring Festival, 618) and repeat buyers,
most completed, some pending, cancelled or refunded. Written with COPY in
batches; the purchase metrics are then computed for everyone in one statement."""

from __future__ import annotations

import datetime
import random
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from crm.bulkcopy import CopyPipeline, ids_reserve
from customers.metrics import metrics_refresh
from customers.models import Customer
from sales.models import Order, OrderLine, OrderSource, OrderStatus, Product, Refund
from sales.seed_pipeline import pipeline_generate, targets_generate
from sales.services.orders import order_numbers_next
from sales.services.values import line_total

BATCH = 20_000
CHUNK = 500_000
ORDERS_PER_CUSTOMER = 3
# category, brand, name, list price
CATALOGUE = (
    ("家电", "海尔", "双门冰箱 BCD-258", "2899.00"),
    ("家电", "美的", "变频空调 1.5 匹", "3299.00"),
    ("家电", "格力", "立式空调 3 匹", "6999.00"),
    ("家电", "美的", "电水壶 1.7L", "89.90"),
    ("家电", "海尔", "滚筒洗衣机 10kg", "2599.00"),
    ("办公用品", "得力", "A4 复印纸（5 包）", "129.00"),
    ("办公用品", "得力", "中性笔（12 支）", "19.80"),
    ("办公用品", "晨光", "文件柜 四门", "899.00"),
    ("数码", "华为", "无线耳机 FreeBuds", "699.00"),
    ("数码", "华为", "平板电脑 MatePad 11", "2499.00"),
    ("数码", "小米", "智能手表", "599.00"),
    ("数码", "Apple", "iPad Air", "4799.00"),
    ("数码", "联想", "笔记本电脑 ThinkPad E14", "5299.00"),
    ("家具", "顾家", "三人布艺沙发", "4599.00"),
    ("家具", "林氏", "办公椅 人体工学", "799.00"),
    ("服装", "李宁", "运动外套", "399.00"),
    ("服装", "安踏", "跑步鞋", "459.00"),
    ("食品", "三只松鼠", "坚果礼盒", "168.00"),
    ("食品", "五芳斋", "粽子礼盒", "128.00"),
    ("软件服务", "Kehu", "CRM 年度订阅（10 用户）", "9800.00"),
    ("软件服务", "Kehu", "实施与培训（人天）", "2000.00"),
    ("工业配件", "Siemens", "PLC 控制器 S7-1200", "3680.00"),
    ("工业配件", "SKF", "深沟球轴承 6205", "45.50"),
    ("工业配件", "正泰", "断路器 NXB-63", "36.00"),
)
VARIANTS = ("", "", "黑色", "白色", "银色", "标准版", "Pro")
# Relative orders per month, January first: 年货, a quiet spring, 618, a quiet
# summer, then 双十一 and the year end.
MONTH_WEIGHTS = (1.3, 0.9, 0.8, 0.8, 0.9, 1.4, 0.8, 0.8, 0.9, 1.0, 1.9, 1.5)
STATUSES = (
    (OrderStatus.COMPLETED, 72),
    (OrderStatus.SHIPPED, 6),
    (OrderStatus.PAID, 6),
    (OrderStatus.PENDING, 5),
    (OrderStatus.CANCELLED, 7),
    (OrderStatus.REFUNDED, 4),
)
REFUND_REASONS = ("质量问题退货", "客户取消", "少发配件，部分退款", "价格调整返还差价")


def products_ensure() -> list[Product]:
    products = []
    for index, (category, brand, name, price) in enumerate(CATALOGUE, start=1):
        product, _created = Product.objects.get_or_create(
            sku=f"DEMO-{index:03d}",
            defaults={
                "name": name,
                "category": category,
                "brand": brand,
                "variant": VARIANTS[index % len(VARIANTS)],
                "list_price": Decimal(price),
                "unit": "件",
            },
        )
        products.append(product)
    return products


def _moment(rng: random.Random, start: datetime.datetime, end: datetime.datetime, zone):
    """A time between start and end, more likely in the busy months."""
    span = (end - start).total_seconds()
    if span <= 0:
        return end
    for _attempt in range(8):
        moment = start + datetime.timedelta(seconds=rng.random() * span)
        if rng.random() * 1.9 <= MONTH_WEIGHTS[moment.astimezone(zone).month - 1]:
            break
    local = moment.astimezone(zone)
    shop_hours = local.replace(
        hour=rng.choice((9, 10, 11, 14, 15, 16, 20, 21)), minute=rng.randrange(60)
    )
    return min(shop_hours, end)  # today's shop hours may not have come yet


def _customers(limit_ids: int | None = None):
    rows = Customer.objects.alive().values_list("id", "owner_id", "team_id", "created_at")
    return list(rows.order_by("id")[:limit_ids] if limit_ids else rows.order_by("id"))


def orders_generate(
    count: int,
    *,
    reps: dict[int, int | None],
    seed: int,
    now=None,
    refresh: bool = True,
    progress=None,
) -> int:
    """Insert `count` demo orders over the live customers (repeat buyers included:
    a few customers buy often, many once or twice). `reps` maps the salespeople's
    ids to their teams, for pool customers' old orders. Each CHUNK commits on its
    own (an interrupted run keeps what it made); `progress(made)` after each.
    `refresh=False` leaves the purchase metrics to the caller."""
    customers = _customers()
    if count <= 0 or not customers or not reps:
        return 0
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    now = now or timezone.now()
    products = products_ensure()
    statuses, weights = zip(*STATUSES, strict=True)
    rep_ids = list(reps)
    # Buyers: two in three customers buy; a tenth of those are regulars (weight 8).
    buyers = [c for c in customers if rng.random() < 0.66] or customers
    buyer_weights = [8 if rng.random() < 0.1 else 1 for _ in buyers]
    made = 0
    zone = timezone.get_current_timezone()
    while made < count:
        size = min(CHUNK, count - made)
        # Ids and numbers first: while the pipeline runs, the connection is its own.
        ids, numbers = ids_reserve(Order, size), order_numbers_next(size)
        # PostgreSQL takes one batch while this thread makes the next (crm.bulkcopy).
        with transaction.atomic(), CopyPipeline() as pipeline:
            for start in range(0, size, BATCH):
                _batch(
                    pipeline, ids[start : start + BATCH], numbers[start : start + BATCH], rng,
                    buyers, buyer_weights, products, statuses, weights, rep_ids, reps, now, zone,
                )  # fmt: skip
        made += size
        if progress:
            progress(made)
    if refresh:
        metrics_refresh()  # everyone's figures, and the sales by day
    return made


def _batch(
    pipeline, ids, numbers, rng, buyers, buyer_weights, products, statuses, weights, rep_ids,
    reps, now, zone,
):  # fmt: skip
    chosen = rng.choices(buyers, weights=buyer_weights, k=len(ids))
    orders, lines, refunds = [], [], []
    for pk, number, (customer_id, owner_id, team_id, created) in zip(
        ids, numbers, chosen, strict=True
    ):
        salesperson = owner_id or rng.choice(rep_ids)
        status = rng.choices(statuses, weights=weights)[0]
        ordered = _moment(rng, created, now - datetime.timedelta(hours=1), zone)
        order = {
            "id": pk,
            "number": number,
            "customer_id": customer_id,
            "salesperson_id": salesperson,
            "team_id": team_id if owner_id else reps.get(salesperson),
            "ordered_at": ordered,
            "status": status,
            "source": OrderSource.DEMO,
            "created_at": ordered,
            "updated_at": ordered,
        }
        if status not in (OrderStatus.PENDING, OrderStatus.CANCELLED):
            order["paid_at"] = min(now, ordered + datetime.timedelta(minutes=rng.randrange(5, 600)))
        if status in (OrderStatus.SHIPPED, OrderStatus.COMPLETED):
            order["shipped_at"] = min(now, ordered + datetime.timedelta(days=1))
        if status == OrderStatus.COMPLETED:
            order["completed_at"] = min(
                now, ordered + datetime.timedelta(days=rng.randrange(2, 10))
            )
        if status == OrderStatus.CANCELLED:
            order["cancelled_at"] = min(
                now, ordered + datetime.timedelta(hours=rng.randrange(1, 48))
            )
        total = Decimal("0.00")
        for position in range(rng.choice((1, 1, 1, 2, 2, 3))):
            product = rng.choice(products)
            quantity = Decimal(rng.choice((1, 1, 1, 2, 2, 3, 5, 10)))
            discount = Decimal(rng.choice((0, 0, 0, 5, 10, 15)))
            amount = line_total(quantity, product.list_price, discount, "CNY")
            total += amount
            lines.append(
                {
                    "order_id": pk,
                    "product_id": product.pk,
                    "description": product.name,
                    "quantity": quantity,
                    "unit_price": product.list_price,
                    "discount_percent": discount,
                    "line_total": amount,
                    "position": position,
                }
            )
        order["total"] = total
        if status == OrderStatus.REFUNDED:
            order["refunded"] = total
        elif status == OrderStatus.COMPLETED and total > 100 and rng.random() < 0.03:
            order["refunded"] = (total * Decimal("0.2")).quantize(Decimal("0.01"))
        if order.get("refunded"):
            refunds.append(
                {
                    "order_id": pk,
                    "amount": order["refunded"],
                    "reason": rng.choice(REFUND_REASONS),
                    "refunded_at": min(
                        now, ordered + datetime.timedelta(days=rng.randrange(3, 20))
                    ),
                    "actor_id": salesperson,
                    "created_at": min(now, ordered + datetime.timedelta(days=rng.randrange(3, 20))),
                }
            )
        orders.append(order)
    pipeline.send(Order, orders)
    pipeline.send(OrderLine, lines, ids=False)
    pipeline.send(Refund, refunds, ids=False)


def seed(*, context, stdout) -> None:
    """The `seed_demo` hook: the catalogue, and `context.orders` orders (three per
    customer unless said)."""
    products = products_ensure()
    count = (
        context.orders if context.orders is not None else context.customers * ORDERS_PER_CUSTOMER
    )
    if count <= 0:
        stdout.write(f"{len(products)} demo products.")
        return
    reps = {
        user.pk: user.team_id
        for name, user in context.users.items()
        if name in ("rep1", "rep2", "manager")
    }
    started = timezone.now()
    made = orders_generate(count, reps=reps, seed=context.seed + 5)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE sales_order")
    seconds = (timezone.now() - started).total_seconds()
    stdout.write(f"{len(products)} demo products, {made} demo orders in {seconds:.1f} s.")
    opportunities, contracts = pipeline_generate(customers=context.customers, seed=context.seed + 6)
    targets = targets_generate(people=reps, seed=context.seed + 7)
    stdout.write(
        f"{opportunities} demo opportunities, {contracts} contracts, {targets} monthly targets."
    )
