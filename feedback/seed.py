"""Demo feedback for `seed_demo`: about one customer in five has said something —
by phone, e-mail, an online review, in person or about a ticket — in Chinese or
English, with a rating and often a score; some has been answered."""

from __future__ import annotations

import datetime
import random

from django.utils import timezone

from crm.bulkcopy import copy_insert
from customers.models import Customer
from feedback.models import Feedback, FeedbackCategory, FeedbackChannel, FeedbackStatus

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
    rows = []
    for customer_id, owner_id, created in rng.sample(customers, min(count, len(customers))):
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
        if status != FeedbackStatus.NEW:
            row["handled_by_id"], row["handled_at"] = owner_id, received
        if status == FeedbackStatus.RESOLVED:
            row["response"] = rng.choice(RESPONSES)
        rows.append(row)
    copy_insert(Feedback, rows, ids=False)
    return len(rows)


def seed(*, context, stdout) -> None:
    """The `seed_demo` hook: feedback from about one customer in five."""
    if not context.customers:
        return
    made = feedback_generate(count=max(10, context.customers // 5), seed=context.seed + 21)
    stdout.write(f"{made} demo feedback.")
