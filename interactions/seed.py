"""Demo interactions, tasks and tickets for `seed_demo [--interactions N]`.

Interactions fall unevenly on customers (a few are called every week, many once
or twice, some never), mostly by phone and WeChat, in Chinese and English; recent
ones may carry a follow-up, which becomes a task. Tasks come in every state
(overdue, today, upcoming, done) and tickets in every status, with their threads.
Written with COPY in committed chunks, like the demo orders; then every
customer's figures recomputed (`metrics_refresh()`).
"""

from __future__ import annotations

import datetime
import random

from django.db import connection, transaction
from django.utils import timezone

from crm.bulkcopy import CopyPipeline, copy_insert, ids_reserve
from customers.metrics import metrics_refresh
from customers.models import Customer
from interactions.models import (
    DEFAULT_SLA_HOURS,
    Channel,
    Direction,
    Interaction,
    Outcome,
    ServiceTicket,
    Task,
    TaskPriority,
    TaskSource,
    TicketCategory,
    TicketComment,
    TicketStatus,
)
from interactions.services.tickets import ticket_numbers_next

BATCH = 20_000
CHUNK = 500_000
PER_CUSTOMER = 5
CHANNELS = (
    (Channel.PHONE, 35), (Channel.WECHAT, 25), (Channel.VISIT, 10), (Channel.EMAIL, 10),
    (Channel.MEETING, 6), (Channel.SMS, 6), (Channel.SOCIAL, 4), (Channel.OTHER, 4),
)  # fmt: skip
OUTCOMES = (
    (Outcome.PROGRESS, 30), (Outcome.NEUTRAL, 35), (Outcome.SETBACK, 10),
    (Outcome.NO_ANSWER, 10), ("", 15),
)  # fmt: skip
# subject, notes, next step ("" for none)
CONVERSATIONS = (
    ("电话回访", "客户对上次购买的产品比较满意，询问是否有新品。", "发送新品目录"),
    ("报价沟通", "客户认为价格偏高，希望批量采购能有折扣。", "申请特价审批"),
    ("售后回访", "安装已完成，客户反馈师傅很专业。", ""),
    ("新品推荐", "介绍了今年的新款，客户表示会考虑，月底前答复。", "月底再次跟进"),
    ("节日问候", "中秋节问候，顺便确认收货地址。", ""),
    ("上门拜访", "拜访客户办公室，见到采购负责人，了解明年预算。", "准备方案书"),
    ("合同续签", "合同下月到期，客户有意续签，希望增加服务内容。", "起草续签合同"),
    ("投诉处理", "客户反映送货延迟两天，已致歉并承诺下次优先发货。", "跟进物流"),
    ("需求调研", "客户计划新开两家门店，需要整套设备。", "约技术负责人演示"),
    ("微信沟通", "客户发来产品照片，询问配件型号。", "发送配件报价"),
    ("未接通", "", "明天上午再打"),
    ("Follow-up call", "Customer is happy with the delivery and asked about bulk pricing.",
     "Send a volume quote"),
    ("Product demo", "Walked the team through the new model; the manager wants a trial unit.",
     "Arrange a trial"),
    ("Quarterly review", "Went over last quarter's orders and the service tickets.", ""),
)  # fmt: skip
TICKET_SUBJECTS = (
    (TicketCategory.INSTALLATION, "空调安装预约"), (TicketCategory.REPAIR, "冰箱不制冷"),
    (TicketCategory.REPAIR, "洗衣机噪音大"), (TicketCategory.COMPLAINT, "送货延迟"),
    (TicketCategory.RETURN, "耳机左耳无声，申请换货"), (TicketCategory.ENQUIRY, "发票开具"),
    (TicketCategory.ENQUIRY, "Warranty question"), (TicketCategory.OTHER, "修改收货地址"),
)  # fmt: skip
TASK_TITLES = (
    "回访新客户", "确认收货地址", "发送报价单", "准备季度回顾", "提醒客户续费", "核实客户信息",
    "邀请参加新品发布会", "Call back about the trial",
)  # fmt: skip


def _customers():
    rows = Customer.objects.alive().values_list("id", "owner_id", "created_at")
    return list(rows.order_by("id"))


def interactions_generate(
    count: int, *, reps: list[int], seed: int, now=None, progress=None
) -> int:
    """Insert `count` demo interactions (uneven: a tenth of customers get most of
    them, a fifth none) and their follow-up tasks; each CHUNK commits on its own.
    The caller refreshes the last contacts (`metrics_refresh()`)."""
    customers = _customers()
    if count <= 0 or not customers or not reps:
        return 0
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    now = now or timezone.now()
    talked = [c for c in customers if rng.random() < 0.8] or customers
    weights = [rng.choice((1, 1, 1, 2, 3, 12)) for _ in talked]
    channels, channel_weights = zip(*CHANNELS, strict=True)
    outcomes, outcome_weights = zip(*OUTCOMES, strict=True)
    made = 0
    while made < count:
        size = min(CHUNK, count - made)
        ids = ids_reserve(Interaction, size)
        with transaction.atomic(), CopyPipeline() as pipeline:
            for start in range(0, size, BATCH):
                chosen = rng.choices(talked, weights=weights, k=min(BATCH, size - start))
                rows, tasks = [], []
                for pk, (customer_id, owner_id, created) in zip(
                    ids[start : start + BATCH], chosen, strict=False
                ):
                    span = max((now - created).total_seconds() - 3600, 60)
                    moment = now - datetime.timedelta(seconds=span * rng.random() ** 1.5)
                    subject, notes, next_step = rng.choice(CONVERSATIONS)
                    user = owner_id or rng.choice(reps)
                    row = {
                        "id": pk, "customer_id": customer_id, "user_id": user,
                        "channel": rng.choices(channels, weights=channel_weights)[0],
                        "direction": Direction.INBOUND if rng.random() < 0.25
                        else Direction.OUTBOUND,
                        "occurred_at": moment, "subject": subject, "notes": notes,
                        "outcome": rng.choices(outcomes, weights=outcome_weights)[0],
                        "next_step": next_step, "created_at": moment, "updated_at": moment,
                    }  # fmt: skip
                    recent = now - moment < datetime.timedelta(days=14)
                    if next_step and recent and rng.random() < 0.25:
                        due = moment + datetime.timedelta(days=rng.randrange(1, 21))
                        row["follow_up_at"] = due
                        done = due < now and rng.random() < 0.7
                        tasks.append(
                            {
                                "title": next_step, "customer_id": customer_id,
                                "assignee_id": user, "due_at": due,
                                "priority": TaskPriority.NORMAL,
                                "source": TaskSource.FOLLOW_UP, "interaction_id": pk,
                                "done_at": due if done else None,
                                "done_by_id": user if done else None,
                                "created_by_id": user, "created_at": moment,
                                "updated_at": moment,
                            }
                        )  # fmt: skip
                    rows.append(row)
                pipeline.send(Interaction, rows)
                pipeline.send(Task, tasks, ids=False)
        made += size
        if progress:
            progress(made)
    return made


def tasks_generate(*, assignee_id: int, count: int, seed: int, now=None) -> int:
    """`count` manual tasks for one person about their customers: a few overdue,
    some today, most upcoming, some done (the bench's busy rep)."""
    rng = random.Random(seed)  # noqa: S311
    now = now or timezone.now()
    customers = list(
        Customer.objects.alive().filter(owner_id=assignee_id).values_list("id", flat=True)[:5000]
    )
    rows = []
    for index in range(count):
        offset = rng.choice((-72, -30, -5, 2, 6, 30, 100, 300, 700)) + rng.random() * 20
        due = now + datetime.timedelta(hours=offset)
        done = offset < 0 and rng.random() < 0.3
        rows.append(
            {
                "title": rng.choice(TASK_TITLES), "assignee_id": assignee_id,
                "customer_id": customers[index % len(customers)] if customers else None,
                "due_at": due, "priority": rng.choice(TaskPriority.values),
                "source": TaskSource.MANUAL, "done_at": due if done else None,
                "done_by_id": assignee_id if done else None, "created_by_id": assignee_id,
                "created_at": now - datetime.timedelta(days=10), "updated_at": now,
            }
        )  # fmt: skip
    copy_insert(Task, rows, ids=False)
    return len(rows)


def tickets_generate(*, count: int, reps: list[int], seed: int, now=None) -> int:
    """`count` tickets in every status, on customers who bought, with their threads."""
    rng = random.Random(seed)  # noqa: S311
    now = now or timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT o.customer_id, o.id, c.owner_id FROM sales_order o"
            " JOIN customers_customer c ON c.id = o.customer_id"
            " WHERE c.deleted_at IS NULL ORDER BY o.id DESC LIMIT %s",
            [count * 3],
        )
        bought = cursor.fetchall()
    if not bought or count <= 0:
        return 0
    statuses = (
        (TicketStatus.OPEN, 20), (TicketStatus.IN_PROGRESS, 20), (TicketStatus.WAITING, 10),
        (TicketStatus.RESOLVED, 20), (TicketStatus.CLOSED, 30),
    )  # fmt: skip
    names, weights = zip(*statuses, strict=True)
    ids = ids_reserve(ServiceTicket, count)
    numbers = ticket_numbers_next(count)
    tickets, comments = [], []
    for pk, number in zip(ids, numbers, strict=True):
        customer_id, order_id, owner_id = rng.choice(bought)
        assignee = owner_id or rng.choice(reps)
        status = rng.choices(names, weights=weights)[0]
        priority = rng.choice(TaskPriority.values)
        opened = now - datetime.timedelta(hours=rng.random() * 24 * 60)
        hours = DEFAULT_SLA_HOURS[priority]
        category, subject = rng.choice(TICKET_SUBJECTS)
        ticket = {
            "id": pk, "number": number, "customer_id": customer_id, "order_id": order_id,
            "subject": subject, "description": "客户来电反映：" + subject, "category": category,
            "priority": priority, "status": status, "assignee_id": assignee,
            "sla_started_at": opened, "sla_hours": hours,
            "sla_due_at": opened + datetime.timedelta(hours=hours),
            "created_by_id": assignee, "created_at": opened, "updated_at": opened,
        }  # fmt: skip
        comments.append(
            {"ticket_id": pk, "author_id": assignee, "status_to": TicketStatus.OPEN,
             "created_at": opened}
        )  # fmt: skip
        if status == TicketStatus.WAITING:
            ticket["waiting_since"] = opened + datetime.timedelta(hours=hours / 4)
        if status in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
            resolved = opened + datetime.timedelta(hours=hours * rng.uniform(0.2, 1.4))
            ticket["resolved_at"] = min(resolved, now)
            ticket["resolution"] = rng.choice(("已上门维修", "更换新机", "已退款", "Explained"))
            comments.append(
                {"ticket_id": pk, "author_id": assignee, "status_from": TicketStatus.OPEN,
                 "status_to": TicketStatus.RESOLVED, "created_at": ticket["resolved_at"]}
            )  # fmt: skip
        if status == TicketStatus.CLOSED:
            ticket["closed_at"] = ticket["resolved_at"]
            ticket["satisfaction"] = rng.choice((3, 4, 4, 5, 5, 5, 2))
        tickets.append(ticket)
    copy_insert(ServiceTicket, tickets)
    copy_insert(TicketComment, comments, ids=False)
    return len(tickets)


def seed(*, context, stdout) -> None:
    """The `seed_demo` hook: `context.interactions` interactions (five per customer
    unless said), tasks for the demo reps and tickets in every state."""
    count = (
        context.interactions
        if getattr(context, "interactions", None) is not None
        else context.customers * PER_CUSTOMER
    )
    if count <= 0 or not context.customers:
        return
    reps = [user.pk for name, user in context.users.items() if name in ("rep1", "rep2")]
    started = timezone.now()
    made = interactions_generate(count, reps=reps, seed=context.seed + 11)
    metrics_refresh()
    tasks = sum(
        tasks_generate(assignee_id=user, count=12, seed=context.seed + 12 + index)
        for index, user in enumerate(reps)
    )
    tickets = tickets_generate(
        count=max(20, context.customers // 50), reps=reps, seed=context.seed + 13
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE interactions_interaction")
    seconds = (timezone.now() - started).total_seconds()
    stdout.write(
        f"{made} demo interactions, {tasks} more tasks, {tickets} tickets in {seconds:.1f} s."
    )
