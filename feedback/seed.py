"""Demo feedback for `seed_demo`: about one customer in five has said something —
by phone, e-mail, an online review, in person or about a ticket — in Chinese or
English, with a rating and often a score; some has been answered."""

from __future__ import annotations

import datetime
import random

from django.utils import timezone

from crm.bulkcopy import copy_insert
from customers.models import Customer
from feedback.loyalty import _code, orders_points_sync, points_balance, points_expiry_date
from feedback.models import (
    Coupon,
    CouponReason,
    Feedback,
    FeedbackCategory,
    FeedbackChannel,
    FeedbackStatus,
    LoyaltyRules,
    PointsEntry,
    Survey,
    SurveyAnswer,
    SurveyInvitation,
    SurveyQuestion,
)
from feedback.surveys.sending import _token
from sales.models import Order

# category (English name), rating, text
COMMENTS = (
    ("Product quality", 5, "质量很好，用了半年没有任何问题。"),
    ("Product quality", 2, "耳机左耳有杂音，希望能换一个。"),
    ("Product quality", 1, "冰箱到货第二天就不制冷了，太失望了。"),
    ("Service", 5, "客服态度很好，问题当天就解决了。"),
    ("Service", 3, "售后响应有点慢，等了三天才有人上门。"),
    ("Service", 4, "销售很专业，推荐的型号很合适。"),
    ("Delivery", 2, "送货比约定晚了两天，也没有提前通知。"),
    ("Delivery", 5, "物流很快，包装完好。"),
    ("Price", 3, "价格比别家贵一点，希望老客户有优惠。"),
    ("Price", 4, "双十一活动力度不错。"),
    ("Other", 4, "门店环境不错，停车方便。"),
    ("Product quality", 5, "Great build quality, works exactly as described."),
    ("Service", 2, "Waited a week for a reply to my warranty question."),
    ("Delivery", 4, "Arrived a day early, well packed."),
    ("Price", 3, "A bit pricey, but the after-sales service makes up for it."),
)  # fmt: skip
RESPONSES = ("已致电道歉并安排换货", "已补发优惠券", "已转售后跟进", "Thanked the customer")
CHANNELS = (FeedbackChannel.PHONE, FeedbackChannel.EMAIL, FeedbackChannel.REVIEW,
            FeedbackChannel.IN_PERSON, FeedbackChannel.REVIEW)  # fmt: skip


def feedback_generate(*, count: int, seed: int, now=None) -> int:
    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    now = now or timezone.now()
    customers = list(
        Customer.objects.alive().values_list("id", "owner_id", "created_at")[: count * 3]
    )
    categories = {c.name_en: c.pk for c in FeedbackCategory.objects.all()}
    if not customers or count <= 0:
        return 0
    picked = rng.sample(customers, min(count, len(customers)))
    latest_order = dict(
        Order.objects.filter(customer_id__in=[c for c, __, __ in picked])
        .order_by("customer_id", "-ordered_at")
        .distinct("customer_id")
        .values_list("customer_id", "id")
    )
    rows = []
    for customer_id, owner_id, created in picked:
        category, rating, text = rng.choice(COMMENTS)
        span = max((now - created).total_seconds(), 3600)
        received = now - datetime.timedelta(seconds=span * rng.random())
        nps = (
            max(0, min(10, rating * 2 + rng.choice((-2, -1, 0, 0, 1))))
            if rng.random() < 0.7
            else None
        )
        status = rng.choice(
            (FeedbackStatus.NEW, FeedbackStatus.ACKNOWLEDGED, FeedbackStatus.RESOLVED)
        )
        row = {
            "customer_id": customer_id, "channel": rng.choice(CHANNELS), "rating": rating,
            "nps": nps, "category_id": categories.get(category), "text": text,
            "status": status, "created_by_id": owner_id, "created_at": received,
            "updated_at": received,
        }  # fmt: skip
        if category in ("Product quality", "Delivery", "Price") and customer_id in latest_order:
            row["order_id"] = latest_order[customer_id]  # about the customer's last order
        if status != FeedbackStatus.NEW:
            row["handled_by_id"], row["handled_at"] = owner_id, received
        if status == FeedbackStatus.RESOLVED:
            row["response"] = rng.choice(RESPONSES)
        rows.append(row)
    copy_insert(Feedback, rows, ids=False)
    return len(rows)


SURVEY_QUESTIONS = (
    ("rating", "您对我们这次的服务满意吗？", "How satisfied are you with our service this time?",
     "", ""),
    ("nps", "您有多大可能向朋友或同事推荐我们？",
     "How likely are you to recommend us to a friend or colleague?", "", ""),
    ("choice", "您最看重我们哪一点？", "What do you value most about us?",
     "价格\n产品质量\n售后服务\n送货速度",
     "Price\nProduct quality\nAfter-sales service\nDelivery speed"),
    ("text", "还有什么想告诉我们的？", "Anything else you would like to tell us?", "", ""),
)  # fmt: skip
SURVEY_TEXTS = (
    "送货很准时，安装师傅也很专业。",
    "希望能增加晚上的送货时段。",
    "客服回复太慢了，打了三次电话。",
    "价格有点贵，但质量确实好。",
    "包装破损，希望改进包装。",
    "Delivery was quick and the installer was friendly.",
    "Please offer more payment options.",
    "",
    "",
)


def survey_generate(*, count: int, seed: int, manager=None, now=None) -> int:
    """An open, bilingual after-sales survey sent to `count` customers: about
    six in ten answered (their feedback and bonus points with them), the rest
    waiting or expired."""

    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    now = now or timezone.now()
    service = FeedbackCategory.objects.filter(name_en="Service").first()
    survey = Survey.objects.create(
        title_zh="售后服务满意度调查", title_en="After-sales satisfaction survey",
        intro_zh="只需一分钟，您的意见会直接送到为您服务的团队。",
        intro_en="It takes a minute; your answers go straight to the team that serves you.",
        status="open", link_days=14, points_bonus=20, category=service, created_by=manager,
        created_at=now - datetime.timedelta(days=120), updated_at=now,
    )  # fmt: skip
    questions = [
        SurveyQuestion.objects.create(
            survey=survey,
            position=n,
            kind=kind,
            text_zh=zh,
            text_en=en,
            choices_zh=czh,
            choices_en=cen,
            required=kind in ("rating", "nps"),
        )
        for n, (kind, zh, en, czh, cen) in enumerate(SURVEY_QUESTIONS)
    ]
    customers = list(Customer.objects.alive().values_list("id", "owner_id")[: count * 3])
    picked = rng.sample(customers, min(count, len(customers)))
    answered = 0
    for customer_id, owner_id in picked:
        sent = now - datetime.timedelta(days=rng.uniform(0, 110))
        invitation = SurveyInvitation.objects.create(
            survey=survey, customer_id=customer_id, token=_token(), language="zh-hans",
            sent_by_id=owner_id, created_at=sent, expires_at=sent + datetime.timedelta(days=14),
        )  # fmt: skip
        if rng.random() > 0.6:
            continue
        at = sent + datetime.timedelta(hours=rng.uniform(1, 100))
        if at > now:
            continue
        rating = rng.choices((5, 4, 3, 2, 1), weights=(35, 30, 15, 12, 8))[0]
        score = max(0, min(10, rating * 2 + rng.choice((-2, -1, 0, 0, 1))))
        choice = rng.randrange(4)
        text = rng.choice(SURVEY_TEXTS)
        feedback = Feedback.objects.create(
            customer_id=customer_id, channel=FeedbackChannel.SURVEY, rating=rating, nps=score,
            category=service, created_at=at, updated_at=at,
            text=text,
        )  # fmt: skip
        SurveyAnswer.objects.bulk_create(
            [
                SurveyAnswer(invitation=invitation, question=questions[0], number=rating),
                SurveyAnswer(invitation=invitation, question=questions[1], number=score),
                SurveyAnswer(invitation=invitation, question=questions[2], number=choice),
                *([SurveyAnswer(invitation=invitation, question=questions[3], text=text)]
                  if text else []),
            ]
        )  # fmt: skip
        invitation.opened_at, invitation.answered_at, invitation.feedback = at, at, feedback
        invitation.save(update_fields=["opened_at", "answered_at", "feedback"])
        PointsEntry.objects.create(
            customer_id=customer_id, kind="earned", points=survey.points_bonus,
            invitation=invitation, expires_on=points_expiry_date(at), created_at=at,
        )  # fmt: skip
        answered += 1
    return answered


def loyalty_generate(*, count: int, seed: int, now=None) -> tuple[int, int]:
    """Points for the completed orders (by the rules), some of them spent, and
    coupons of every kind, some redeemed. Returns (ledger lines, coupons)."""
    from decimal import Decimal

    rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
    now = now or timezone.now()
    today = timezone.localdate(now)
    LoyaltyRules.objects.filter(pk=1).update(
        birthday_coupon_value=Decimal("50.00"), win_back_coupon_value=Decimal("100.00")
    )
    lines = orders_points_sync(now=now)
    earners = list(
        PointsEntry.objects.filter(kind="earned").values_list("customer_id", flat=True).distinct()
    )
    for customer_id in rng.sample(earners, len(earners) // 4):
        balance = points_balance(customer_id)
        if balance >= 100:
            spent = rng.randrange(100, balance + 1, 100) if balance >= 200 else 100
            PointsEntry.objects.create(
                customer_id=customer_id, kind="redeemed", points=-spent, reason="兑换礼品",
                created_at=now - datetime.timedelta(days=rng.randrange(1, 60)),
            )  # fmt: skip
            lines += 1
    customers = list(Customer.objects.alive().values_list("id", flat=True)[: count * 3])
    coupons = []
    for customer_id in rng.sample(customers, min(count, len(customers))):
        start = today - datetime.timedelta(days=rng.randrange(0, 90))
        value, percent = (
            (Decimal(rng.choice((20, 50, 100))), None) if rng.random() < 0.7
            else (None, rng.choice((5, 10, 15)))
        )  # fmt: skip
        redeemed = rng.random() < 0.3 and start < today
        coupons.append(
            Coupon(
                code=_code(),
                customer_id=customer_id,
                value=value,
                percent=percent,
                reason=rng.choice(CouponReason.values),
                valid_from=start,
                valid_until=start + datetime.timedelta(days=30),
                redeemed_at=now - datetime.timedelta(hours=rng.randrange(1, 200))
                if redeemed
                else None,
            )
        )
    Coupon.objects.bulk_create(coupons)
    return lines, len(coupons)


def seed(*, context, stdout) -> None:
    """The `seed_demo` hook: feedback from about one customer in five, a survey
    answered by some, points for completed orders and coupons."""
    if not context.customers:
        return
    made = feedback_generate(count=max(10, context.customers // 5), seed=context.seed + 21)
    answered = survey_generate(
        count=max(10, context.customers // 10),
        seed=context.seed + 22,
        manager=context.users.get("manager"),
    )
    lines, coupons = loyalty_generate(count=max(5, context.customers // 20), seed=context.seed + 23)
    stdout.write(
        f"{made} demo feedback; {answered} survey answers; {lines} points lines; {coupons} coupons."
    )
