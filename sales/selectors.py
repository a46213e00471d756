"""Reads of sales data. Orders and opportunities follow their customer's visibility
(`customers.selectors.visible_through_customer`); products and competitors are a
shared catalogue."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, DecimalField, ExpressionWrapper, F, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from crm.access import register_scope
from crm.models import User
from customers.selectors import visible_through_customer
from sales.models import (
    OPEN_STAGES,
    PURCHASE_STATUSES,
    ZERO,
    Competitor,
    Contract,
    Opportunity,
    Order,
    OrderLine,
    Product,
    Stage,
    cents,
    percent,
)


@register_scope(Order)
def visible_orders(user: User) -> QuerySet[Order]:
    """The orders of the live customers the user may see."""
    return visible_through_customer(Order, user)


@register_scope(Product)
def visible_products(user: User) -> QuerySet[Product]:
    if not user.has_perm("sales.view_product"):
        return Product.objects.none()
    return Product.objects.all()


def order_list(user: User) -> QuerySet[Order]:
    return visible_orders(user).select_related("customer", "salesperson")


def order_get(user: User, order_id: int) -> Order:
    """One order with its lines and refunds; Order.DoesNotExist outside the scope."""
    return (
        visible_orders(user)
        .select_related("customer", "salesperson", "team", "created_by")
        .prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.select_related("product")),
            "refunds__actor",
        )
        .get(pk=order_id)
    )


def products_for_orders(*, include: set[int] | frozenset[int] = frozenset()) -> QuerySet[Product]:
    """What an order line may offer: active products, plus those already on it."""
    from django.db.models import Q

    return Product.objects.filter(Q(is_active=True) | Q(pk__in=include)).order_by(
        "category", "name", "id"
    )


@register_scope(Opportunity)
def visible_opportunities(user: User) -> QuerySet[Opportunity]:
    """The opportunities of the live customers the user may see."""
    return visible_through_customer(Opportunity, user)


@register_scope(Competitor)
def visible_competitors(user: User) -> QuerySet[Competitor]:
    if not user.has_perm("sales.view_competitor"):
        return Competitor.objects.none()
    return Competitor.objects.all()


def opportunity_list(user: User) -> QuerySet[Opportunity]:
    return visible_opportunities(user).select_related("customer", "owner", "competitor")


def opportunity_get(user: User, opportunity_id: int) -> Opportunity:
    """One opportunity with its stage history; DoesNotExist outside the scope."""
    return (
        visible_opportunities(user)
        .select_related("customer", "owner", "team", "competitor", "order", "created_by")
        .prefetch_related("stage_changes__actor")
        .get(pk=opportunity_id)
    )


_WEIGHTED = ExpressionWrapper(
    F("amount") * F("probability") / 100, output_field=DecimalField(max_digits=16, decimal_places=2)
)


@dataclass
class BoardColumn:
    stage: str
    label: str
    count: int
    amount: Decimal
    weighted: Decimal
    cards: list[Opportunity]

    @property
    def more(self) -> int:
        return self.count - len(self.cards)


CARDS_PER_COLUMN = 30


def pipeline_board(queryset: QuerySet[Opportunity], *, closed_since) -> list[BoardColumn]:
    """One column per stage: its count, amounts (CNY) and the first cards by
    expected close date. Won and lost show those closed since `closed_since`. Two
    queries per column at most, whatever the size of the pipeline."""
    columns = []
    for stage, label in Stage.choices:
        qs = queryset.filter(stage=stage)
        if stage not in OPEN_STAGES:
            qs = qs.filter(closed_at__gte=closed_since)
        totals = qs.aggregate(
            n=Count("id"),
            total=Coalesce(Sum("amount"), ZERO),
            expected=Coalesce(Sum(_WEIGHTED), ZERO),
        )
        order = ("expected_close", "id") if stage in OPEN_STAGES else ("-closed_at", "-id")
        cards = (
            list(qs.select_related("customer", "owner").order_by(*order)[:CARDS_PER_COLUMN])
            if totals["n"]
            else []
        )
        columns.append(
            BoardColumn(
                stage=stage,
                label=str(label),
                count=totals["n"],
                amount=totals["total"],
                weighted=cents(totals["expected"]),
                cards=cards,
            )
        )
    return columns


@dataclass
class CompetitorRecord:
    competitor: Competitor
    won: int
    lost: int
    open: int
    lost_amount: Decimal

    @property
    def win_rate(self) -> int | None:
        return percent(self.won, self.won + self.lost)


def competitor_records(user: User, competitors: QuerySet[Competitor]) -> list[CompetitorRecord]:
    """Won, lost and open deals against each competitor, among the opportunities the
    user sees (one query)."""
    seen = visible_opportunities(user)
    rows = competitors.annotate(
        won=Count("opportunities", filter=Q(opportunities__in=seen, opportunities__stage="won")),
        lost=Count("opportunities", filter=Q(opportunities__in=seen, opportunities__stage="lost")),
        open=Count(
            "opportunities",
            filter=Q(opportunities__in=seen, opportunities__stage__in=OPEN_STAGES),
        ),
        lost_amount=Coalesce(
            Sum(
                "opportunities__amount",
                filter=Q(opportunities__in=seen, opportunities__stage="lost"),
            ),
            ZERO,
        ),
    )
    return [CompetitorRecord(c, c.won, c.lost, c.open, c.lost_amount) for c in rows]


@register_scope(Contract)
def visible_contracts(user: User) -> QuerySet[Contract]:
    """The contracts of the live customers the user may see."""
    return visible_through_customer(Contract, user)


def contract_list(user: User) -> QuerySet[Contract]:
    return visible_contracts(user).select_related("customer", "owner")


def contract_get(user: User, contract_id: int) -> Contract:
    return (
        visible_contracts(user)
        .select_related("customer", "owner", "opportunity", "created_by")
        .get(pk=contract_id)
    )


ON_CUSTOMER_PAGE = 10  # the latest orders, open opportunities, contracts


def customer_panel(request, profile) -> dict:
    """The customer page's orders, opportunities and contracts (customers.panels):
    the latest few of each, to who may see them; they follow the customer, so
    who sees it sees them."""
    user, customer = request.user, profile.customer
    sees_orders = user.has_perm("sales.view_order")
    sees_opportunities = user.has_perm("sales.view_opportunity")
    sees_contracts = user.has_perm("sales.view_contract")
    orders = opportunities = contracts = []
    if sees_orders:
        orders = list(customer.orders.select_related("salesperson")[:ON_CUSTOMER_PAGE])
    if sees_opportunities:  # open ones first
        opportunities = list(
            customer.opportunities.select_related("owner")
            .annotate(closed=~Q(stage__in=OPEN_STAGES))
            .order_by("closed", "expected_close", "-id")[:ON_CUSTOMER_PAGE]
        )
    if sees_contracts:
        contracts = list(customer.contracts.order_by("-start_date", "-id")[:ON_CUSTOMER_PAGE])
    return {
        "sees_orders": sees_orders,
        "orders": orders,
        "sees_opportunities": sees_opportunities,
        "opportunities": opportunities,
        "sees_contracts": sees_contracts,
        "contracts": contracts,
    }


# --- what customers' pages and jobs ask of orders (registered in SalesConfig.ready())


def product_categories() -> list[str]:
    """The categories of the catalogue, for the customer list's "bought in category"."""
    names = Product.objects.exclude(category="").values_list("category", flat=True)
    return list(names.distinct().order_by("category"))


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time()))


def buyers(
    *,
    product: str = "",
    category: str = "",
    start: datetime.date | None = None,
    stop: datetime.date | None = None,
    spent: Decimal | None = None,
) -> QuerySet:
    """The ids of the customers with purchases (paid, shipped or completed orders)
    of the product (SKU or part of its name) or category, between the local days
    `start` and `stop`, together worth at least `spent` (net of refunds, in CNY)."""
    orders = Order.objects.filter(status__in=PURCHASE_STATUSES)
    if start:
        orders = orders.filter(ordered_at__gte=_day_start(start))
    if stop and stop < datetime.date.max:
        orders = orders.filter(ordered_at__lt=_day_start(stop + datetime.timedelta(days=1)))
    if product:
        orders = orders.filter(
            Q(lines__product__sku__iexact=product) | Q(lines__product__name__icontains=product)
        )
    if category:
        orders = orders.filter(lines__product__category=category)
    if spent is None:
        return orders.values("customer_id")
    net = ExpressionWrapper(
        (F("total") - F("refunded")) * F("exchange_rate"),
        output_field=DecimalField(max_digits=20, decimal_places=6),
    )
    return (
        Order.objects.filter(pk__in=orders.values("pk"))
        .values("customer_id")
        .annotate(worth=Sum(net))
        .filter(worth__gte=spent)
        .values("customer_id")
    )


# The pool's no-order clock and its exemption (customers.pool.ACTIVITY): the
# local day of the customer's last purchase before the as-of day ends, and
# whether an opportunity is still open.
LAST_PURCHASE_SQL = """(SELECT (max(o.ordered_at) AT TIME ZONE %(tz)s)::date
              FROM sales_order o
             WHERE o.customer_id = c.id AND o.status = ANY(%(bought)s)
               AND o.ordered_at < %(end)s)"""
OPEN_DEAL_SQL = """EXISTS (SELECT 1 FROM sales_opportunity p
                    WHERE p.customer_id = c.id AND p.stage = ANY(%(open)s))"""


def recycle_params() -> dict:
    return {"bought": list(PURCHASE_STATUSES), "open": list(OPEN_STAGES)}
