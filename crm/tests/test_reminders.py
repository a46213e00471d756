"""Reminders (crm.reminders) on crafted records at a moment of an as-of day:
exactly who is reminded of what, once; a summary instead of a flood; a task put
off and overdue again is reminded again; the job from the command."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from crm.models import Notification
from crm.reminders import SUMMARY_FROM, reminders
from feedback.models import Coupon, LoyaltyRules
from interactions.models import ServiceTicket, Task
from sales.models import Contract

pytestmark = pytest.mark.django_db

AS_OF = datetime.date(2026, 11, 30)


def at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


MORNING = at(AS_OF, 10)


def _told() -> dict[tuple[str, str], str]:
    """(recipient, key without its ids) → text."""
    rows = Notification.objects.exclude(key="").values_list("recipient__username", "key", "text")
    return {(who, key.split(":")[0]): text for who, key, text in rows}


def _task(assignee, title, due, customer=None, **data) -> Task:
    return Task.objects.create(
        title=title, assignee=assignee, due_at=due, customer=customer, **data
    )


@pytest.fixture
def book(customer_make, rep, other_rep, manager, agent, make_user):
    gone = make_user("gone", "sales_rep", is_active=False)
    firm = customer_make(rep, name="甲公司", kind="company")
    _task(rep, "回访报价", at(AS_OF, 15), firm)
    _task(rep, "寄送合同", at(AS_OF - datetime.timedelta(days=2), 9))
    _task(rep, "已完成的事", at(AS_OF, 9), done_at=MORNING)
    _task(rep, "下周的事", at(AS_OF + datetime.timedelta(days=2), 9))
    _task(gone, "离职员工的任务", at(AS_OF, 9))
    for number in range(SUMMARY_FROM + 1):
        _task(other_rep, f"逾期 {number}", at(AS_OF - datetime.timedelta(days=number + 1), 9))
    contract = {"customer": firm, "owner": rep, "start_date": datetime.date(2026, 1, 1),
                    "renewal_notice_days": 30, "title": "年度服务"}  # fmt: skip
    Contract.objects.create(number="HT-1", status="active", end_date=datetime.date(2026, 12, 20),
                            **contract)  # fmt: skip
    Contract.objects.create(number="HT-2", status="active", end_date=datetime.date(2027, 3, 1),
                            **contract)  # fmt: skip
    Contract.objects.create(number="HT-3", status="draft", end_date=datetime.date(2026, 12, 20),
                            **contract)  # fmt: skip
    ticket = {"customer": firm, "subject": "耳机没有声音", "priority": "normal"}
    ServiceTicket.objects.create(number="T-1", assignee=agent, sla_due_at=at(AS_OF, 11), **ticket)
    ServiceTicket.objects.create(number="T-2", sla_due_at=at(AS_OF, 9), **ticket)  # nobody's
    ServiceTicket.objects.create(
        number="T-3", assignee=agent, sla_due_at=at(AS_OF, 9), status="waiting",
        waiting_since=at(AS_OF, 8), **ticket,
    )  # fmt: skip
    ServiceTicket.objects.create(number="T-4", assignee=agent, sla_due_at=at(AS_OF, 18),
                                 **ticket)  # fmt: skip  # hours away
    LoyaltyRules.objects.filter(pk=1).update(birthday_coupon_value=Decimal("50"))
    customer_make(rep, name="王芳", birth_date=datetime.date(1990, 11, 30))
    customer_make(rep, name="李雷", birth_date=datetime.date(1990, 12, 1))
    return firm


def test_each_reminder_goes_to_the_right_person_once(book, rep, manager):
    counts = reminders(AS_OF, at=MORNING)
    assert counts == {"tasks_due": 1, "tasks_overdue": 2, "contracts": 1, "tickets": 2,
                      "birthdays": 1}  # fmt: skip
    coupon = Coupon.objects.get(customer__name="王芳")
    assert _told() == {
        ("rep1", "task-due"): "今天 15:00 到期：回访报价 · 甲公司",
        ("rep1", "task-overdue"): "自 2026-11-28 起逾期：寄送合同",
        ("rep2", "tasks_overdue-summary"): f"{SUMMARY_FROM + 1} 个任务已逾期。",
        ("rep1", "contract-renewal"): "与 甲公司 的合同 HT-1 将于 2026-12-20 到期：请及时续签。",
        ("agent", "ticket-near"): "工单 T-1 须在 11-30 11:00 前解决，尚未解决：耳机没有声音",
        ("manager", "ticket-past"): "工单 T-2 已超出 SLA（11-30 09:00）：耳机没有声音",
        ("rep1", "birthday"): f"今天是 王芳 的生日。已发放生日优惠券 {coupon.code}（¥50.00）。",
    }


def test_a_second_run_reminds_nobody_again(book):
    reminders(AS_OF, at=MORNING)
    count = Notification.objects.count()
    later = reminders(AS_OF, at=at(AS_OF, 10, 30))
    assert later == dict.fromkeys(later, 0)
    assert Notification.objects.count() == count


def test_as_the_day_goes_on_a_task_due_becomes_overdue_and_a_ticket_breaches(book, agent, manager):
    reminders(AS_OF, at=MORNING)
    counts = reminders(AS_OF, at=at(AS_OF, 16, 30))
    # T-1 past: its agent and the manager; T-4 near (18:00, warned two hours before).
    assert counts["tasks_overdue"] == 1 and counts["tickets"] == 3
    texts = set(Notification.objects.values_list("text", flat=True))
    assert "自 2026-11-30 起逾期：回访报价 · 甲公司" in texts
    assert "工单 T-1 已超出 SLA（11-30 11:00）：耳机没有声音" in texts
    assert "工单 T-4 须在 11-30 18:00 前解决，尚未解决：耳机没有声音" in texts
    past = Notification.objects.filter(recipient=manager, key__startswith="ticket-past:")
    assert past.count() == 2  # T-2 since this morning, T-1 now


def test_a_task_put_off_and_overdue_again_is_reminded_again(book, rep):
    reminders(AS_OF, at=MORNING)
    task = Task.objects.get(title="寄送合同")
    task.due_at = at(AS_OF + datetime.timedelta(days=1), 9)
    task.save(update_fields=["due_at"])
    next_day = AS_OF + datetime.timedelta(days=1)
    reminders(next_day, at=at(next_day, 10))
    told = Notification.objects.filter(recipient=rep, key__startswith=f"task-overdue:{task.pk}:")
    assert sorted(told.values_list("text", flat=True)) == [
        "自 2026-11-28 起逾期：寄送合同", "自 2026-12-01 起逾期：寄送合同",
    ]  # fmt: skip


def test_in_english_for_those_who_read_english(book, rep):
    rep.language = "en"
    rep.save(update_fields=["language"])
    reminders(AS_OF, at=MORNING)
    told = _told()
    assert told[("rep1", "task-due")] == "Due today at 15:00: 回访报价 · 甲公司"
    assert told[("rep1", "contract-renewal")] == (
        "Contract HT-1 with 甲公司 ends on 2026-12-20: time to renew it."
    )


def test_those_born_on_29_february_are_reminded_on_the_28th_in_a_common_year(customer_make, rep):
    customer_make(rep, name="闰日生", birth_date=datetime.date(1996, 2, 29))
    assert reminders(datetime.date(2027, 2, 27))["birthdays"] == 0
    assert reminders(datetime.date(2027, 2, 28))["birthdays"] == 1
    assert reminders(datetime.date(2028, 2, 28))["birthdays"] == 0
    assert reminders(datetime.date(2028, 2, 29))["birthdays"] == 1


def test_the_job_runs_from_the_command(book):
    out = io.StringIO()
    call_command("run_job", "reminders", "--as-of", "2026-11-30", stdout=out)
    last = out.getvalue().splitlines()[-1]
    assert last.startswith("reminders at 2026-11-30 done") and "contracts=1" in last


def test_tasks_in_a_summary_count_as_reminded_and_later_ones_are_reminded(book, other_rep):
    reminders(AS_OF, at=MORNING)  # rep2's seven overdue tasks: one summary
    Task.objects.filter(assignee=other_rep, title__in=["逾期 0", "逾期 1"]).update(done_at=MORNING)
    assert reminders(AS_OF, at=at(AS_OF, 10, 30))["tasks_overdue"] == 0  # no flood of five
    _task(other_rep, "下午到期", at(AS_OF, 14))
    assert reminders(AS_OF, at=at(AS_OF, 15))["tasks_overdue"] == 1
    assert Notification.objects.filter(recipient=other_rep).count() == 2


def test_tasks_and_tickets_of_a_deleted_customer_are_not_reminded(book, rep):
    from customers.models import Customer

    Customer.objects.filter(pk=book.pk).update(deleted_at=timezone.now())
    counts = reminders(AS_OF, at=MORNING)
    assert counts["tasks_due"] == 0 and counts["tickets"] == 0 and counts["contracts"] == 0
    assert counts["tasks_overdue"] == 2  # rep1's 寄送合同 (no customer) and rep2's summary
