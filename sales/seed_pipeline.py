"""Demo pipeline for `seed_demo`: competitors, opportunities at every stage with
their stage history, contracts in every state (some due for renewal, some
expired), and monthly targets near what each salesperson and the team sell."""

from __future__ import annotations

import datetime
import random
from decimal import Decimal

from django.db.models import Count, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from crm.bulkcopy import copy_insert
from customers.models import Customer
from sales.contracts import contract_numbers_next
from sales.models import (
    OPEN_STAGES,
    PURCHASE_STATUSES,
    STAGE_PROBABILITIES,
    Competitor,
    Contract,
    ContractKind,
    ContractStatus,
    LostReason,
    Opportunity,
    OpportunityStageChange,
    Order,
    PricePosition,
    SalesTarget,
    Stage,
)

COMPETITORS = (
    ("云帆科技", PricePosition.LOWER, "报价低，交付快", "售后网点少，定制能力弱"),
    ("蓝海智能", PricePosition.SIMILAR, "品牌知名度高，渠道广", "响应慢，合同条款强硬"),
    ("华信系统", PricePosition.HIGHER, "大客户案例多，功能全面", "价格高，实施周期长"),
    ("Acme Corp", PricePosition.HIGHER, "Global references, strong brand", "Little local support"),
    ("启明软件", PricePosition.LOWER, "免费试用，上手简单", "功能单一，难以扩展"),
    ("恒通贸易", PricePosition.SIMILAR, "与客户老板关系好", "产品线窄"),
)
TITLES = (
    "{category}年度采购", "{category}集中采购项目", "门店{category}升级", "{category}框架合作",
    "新厂区{category}配置", "{category}替换老旧设备", "年底{category}补货",
)  # fmt: skip
CATEGORIES = ("家电", "办公用品", "数码", "家具", "软件服务", "工业配件")
NEXT_STEPS = (
    "约客户技术负责人演示", "发送报价单", "准备方案书", "安排样品试用", "与采购谈付款条件",
    "等待客户内部审批", "邀请参观样板客户",
)  # fmt: skip
STAGE_WEIGHTS = (
    (Stage.QUALIFICATION, 25), (Stage.NEEDS_ANALYSIS, 20), (Stage.PROPOSAL, 18),
    (Stage.NEGOTIATION, 12), (Stage.WON, 15), (Stage.LOST, 10),
)  # fmt: skip
LOST_NOTES = ("对方报价低 15%", "客户预算推迟到明年", "决策人更换", "功能不满足需求")
PER_CUSTOMERS = 8  # one opportunity per eight customers
MAX_OPPORTUNITIES = 200_000


def _competitors() -> list[Competitor]:
    made = []
    for name, position, strengths, weaknesses in COMPETITORS:
        competitor, _created = Competitor.objects.get_or_create(
            name=name,
            defaults={
                "price_position": position,
                "strengths": strengths,
                "weaknesses": weaknesses,
            },
        )
        made.append(competitor)
    return made


def _history(rng, stage: str, created: datetime.datetime, closed, amount, owner_id):
    """The stage changes that led to `stage`, oldest first."""
    path = list(OPEN_STAGES)
    if stage in OPEN_STAGES:
        path = path[: path.index(stage) + 1]
    else:
        path = [*path[: rng.randint(1, len(path))], stage]
    end = closed or timezone.now() - datetime.timedelta(hours=1)
    step = max((end - created) / max(len(path), 1), datetime.timedelta(minutes=1))
    changes, previous = [], ""
    for index, to_stage in enumerate(path):
        changes.append(
            {
                "from_stage": previous,
                "to_stage": to_stage,
                "probability": STAGE_PROBABILITIES[to_stage],
                "amount": amount,
                "changed_at": created + step * index if to_stage != stage or not closed else end,
                "actor_id": owner_id,
            }
        )
        previous = to_stage
    return changes


def pipeline_generate(*, customers: int, seed: int, now=None) -> tuple[int, int]:
    """Competitors, opportunities (one per PER_CUSTOMERS owned customers) and a
    contract for most won ones; returns (opportunities, contracts)."""
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    now = now or timezone.now()
    today = timezone.localdate()
    competitors = _competitors()
    owned = list(
        Customer.objects.alive()
        .filter(owner__isnull=False)
        .values_list("id", "owner_id", "team_id")
        .order_by("id")
    )
    count = min(max(customers // PER_CUSTOMERS, 30 if owned else 0), MAX_OPPORTUNITIES)
    if not owned or count == 0:
        return 0, 0
    stages, weights = zip(*STAGE_WEIGHTS, strict=True)
    opportunities, histories, contracts = [], [], []
    for customer_id, owner_id, team_id in rng.choices(owned, k=count):
        stage = rng.choices(stages, weights=weights)[0]
        amount = Decimal(rng.randrange(50, 5000) * 100).quantize(Decimal("0.01"))
        created = now - datetime.timedelta(days=rng.randrange(5, 300), hours=rng.randrange(24))
        closed = None
        if stage not in OPEN_STAGES:
            closed = created + (now - created) * rng.uniform(0.3, 0.95)
        close_day = (
            timezone.localtime(closed).date()
            if closed
            else today + datetime.timedelta(days=rng.randrange(-10, 120))
        )
        lost = stage == Stage.LOST
        reason = rng.choice(LostReason.values) if lost else ""
        competitor = (
            rng.choice(competitors)
            if reason == LostReason.COMPETITOR or rng.random() < 0.35
            else None
        )
        row = {
            "customer_id": customer_id,
            "title": rng.choice(TITLES).format(category=rng.choice(CATEGORIES)),
            "amount": amount,
            "stage": stage,
            "probability": STAGE_PROBABILITIES[stage],
            "expected_close": close_day,
            "owner_id": owner_id,
            "team_id": team_id,
            "next_step": rng.choice(NEXT_STEPS) if stage in OPEN_STAGES else "",
            "competitor_id": competitor.pk if competitor else None,
            "lost_reason": reason,
            "lost_notes": rng.choice(LOST_NOTES) if lost else "",
            "closed_at": closed,
            "created_by_id": owner_id,
            "created_at": created,
            "updated_at": closed or created,
        }
        opportunities.append(row)
        histories.append(_history(rng, stage, created, closed, amount, owner_id))
    copy_insert(Opportunity, opportunities)
    changes = [
        {**change, "opportunity_id": row["id"]}
        for row, history in zip(opportunities, histories, strict=True)
        for change in history
    ]
    copy_insert(OpportunityStageChange, changes, ids=False)
    won = [row for row in opportunities if row["stage"] == Stage.WON and rng.random() < 0.8]
    numbers = iter(contract_numbers_next(len(won)) if won else [])
    for row in won:
        start = timezone.localtime(row["closed_at"]).date()
        years = rng.choice((1, 1, 1, 2, 3))
        end = start + datetime.timedelta(days=365 * years - 1)
        if rng.random() < 0.15:  # some ending soon: their renewal is due
            end = today + datetime.timedelta(days=rng.randrange(1, 30))
        if rng.random() < 0.1:  # and some already past their end
            end = today - datetime.timedelta(days=rng.randrange(1, 60))
        status = rng.choices(
            (ContractStatus.ACTIVE, ContractStatus.DRAFT, ContractStatus.TERMINATED),
            weights=(85, 10, 5),
        )[0]
        contracts.append(
            {
                "number": next(numbers),
                "customer_id": row["customer_id"],
                "title": row["title"] + "合同",
                "kind": rng.choices(ContractKind.values, weights=(70, 12, 6, 10, 2))[0],
                "status": status,
                "start_date": min(start, end),
                "end_date": end,
                "amount": row["amount"],
                "signed_on": start if status != ContractStatus.DRAFT else None,
                "renewal_notice_days": rng.choice((30, 30, 60, 90)),
                "owner_id": row["owner_id"],
                "opportunity_id": row["id"],
                "created_by_id": row["owner_id"],
                "created_at": row["closed_at"],
                "updated_at": row["closed_at"],
            }
        )
    copy_insert(Contract, contracts, ids=False)
    return len(opportunities), len(contracts)


def targets_generate(*, people: dict[int, int | None], seed: int) -> int:
    """Monthly targets for the last twelve months and this one, near what each
    salesperson sold (±20 %), and the team's as its members' sum rounded up."""
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    this = timezone.localdate().replace(day=1)
    months = [this]
    for _index in range(12):
        months.append((months[-1] - datetime.timedelta(days=1)).replace(day=1))
    sold = {
        (row["salesperson_id"], timezone.localtime(row["month"]).date()): row["revenue"]
        for row in Order.objects.filter(
            salesperson_id__in=people,
            status__in=PURCHASE_STATUSES,
            ordered_at__gte=datetime.datetime.combine(
                months[-1], datetime.time(), timezone.get_current_timezone()
            ),
        )
        .annotate(month=TruncMonth("ordered_at"))
        .values("salesperson_id", "month")
        .annotate(revenue=Sum("total"), n=Count("id"))
        .order_by()
    }
    rows, teams = [], {}
    for month in months:
        for person, team in people.items():
            base = sold.get((person, month)) or Decimal(rng.randrange(20, 80) * 1000)
            target = (base * Decimal(rng.uniform(0.8, 1.2)) / 1000).quantize(Decimal(1)) * 1000
            rows.append({"month": month, "user_id": person, "revenue": target})
            if team:
                teams[(team, month)] = teams.get((team, month), Decimal(0)) + target
    rows += [
        {"month": month, "team_id": team, "revenue": total}
        for (team, month), total in teams.items()
    ]
    SalesTarget.objects.filter(month__in=months).delete()
    copy_insert(SalesTarget, rows, ids=False)
    return len(rows)
