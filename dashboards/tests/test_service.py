"""The service dashboard: a service agent's dashboard is the
service desk's figures — the queue, the SLA, satisfaction — not empty sales
charts; its figures against direct queries; empty charts say so."""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.db.models import Avg, F
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dashboards.service import service_board
from interactions.models import ServiceTicket
from interactions.services.tickets import ticket_move

pytestmark = pytest.mark.django_db

DASHBOARD = reverse("dashboard")


def _ago(**delta) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(**delta)


@pytest.fixture
def desk(ticket_make, agent, own_customer, colleague_customer):
    """Five tickets: one past its SLA, one waiting on the customer (its clock
    stopped), one unassigned, one resolved in time and rated, one resolved late."""
    late = ticket_make(agent, own_customer, subject="打印机卡纸", priority="urgent")
    waiting = ticket_make(agent, own_customer, subject="等客户寄回")
    loose = ticket_make(agent, colleague_customer, subject="发票重开", category="enquiry")
    in_time = ticket_make(agent, own_customer, subject="安装预约", category="installation")
    overdue = ticket_make(agent, colleague_customer, subject="退货", category="return")
    ServiceTicket.objects.filter(pk__in=[late.pk, waiting.pk, in_time.pk, overdue.pk]).update(
        assignee=agent
    )
    ServiceTicket.objects.filter(pk=loose.pk).update(assignee=None)
    ServiceTicket.objects.filter(pk__in=[late.pk, waiting.pk]).update(sla_due_at=_ago(hours=3))
    ServiceTicket.objects.filter(pk=waiting.pk).update(status="waiting", waiting_since=_ago(days=1))
    ServiceTicket.objects.filter(pk=overdue.pk).update(
        created_at=_ago(days=5), sla_started_at=_ago(days=5), sla_due_at=_ago(days=2)
    )
    for ticket, resolution, rating in ((in_time, "已上门安装", 5), (overdue, "已退款", 2)):
        ticket_move(actor=agent, ticket_id=ticket.pk, status="resolved", resolution=resolution)
        ticket_move(actor=agent, ticket_id=ticket.pk, status="closed", satisfaction=rating)
    return {"late": late, "waiting": waiting, "loose": loose, "in_time": in_time}


def _period():
    this = timezone.localdate().replace(day=1)
    return this, this


def test_the_figures_are_what_the_tickets_say(desk, agent):
    board = service_board(agent, *_period())
    tiles = board.tiles
    assert (tiles["open"], tiles["past_sla"], tiles["waiting"], tiles["unassigned"]) == (3, 1, 1, 1)
    assert (tiles["opened"], tiles["resolved"], tiles["sla_met_percent"]) == (5, 2, 50)
    assert (tiles["rating"], tiles["rated"]) == (3.5, 2)
    expected = ServiceTicket.objects.filter(resolved_at__isnull=False).aggregate(
        hours=Avg(F("resolved_at") - F("created_at"))
    )["hours"]
    assert float(tiles["resolve_hours"]) == pytest.approx(expected.total_seconds() / 3600, abs=0.06)
    tickets = board.chart("tickets")
    assert [sum(values) for __, values in tickets.series] == [5, 1, 1]  # opened, in time, late
    (agent_row,) = [row for row in board.agents if row["person"] == agent]
    assert (agent_row["open"], agent_row["past_sla"], agent_row["resolved"]) == (2, 1, 2)
    (nobody,) = [row for row in board.agents if row["person"] is None]
    assert nobody["open"] == 1


def test_a_service_agent_opens_the_service_dashboard(client, desk, agent):
    client.force_login(agent)
    response = client.get(DASHBOARD)
    assert response.status_code == 200
    body = response.content.decode()
    assert "服务看板" in body and 'data-testid="tile-past-sla"' in body
    assert 'data-chart="forecast"' not in body  # no sales charts
    assert 'data-testid="dashboard-tabs"' not in body  # nothing else to switch to
    assert client.get(DASHBOARD, {"board": "service", "download": "tickets"}).status_code == 200


def test_a_manager_switches_between_sales_and_service(client, desk, manager):
    client.force_login(manager)
    sales = client.get(DASHBOARD).content.decode()
    assert 'data-testid="dashboard-tabs"' in sales and 'data-testid="tile-revenue"' in sales
    service = client.get(DASHBOARD, {"board": "service"})
    assert service.templates[0].name == "dashboards/service.html"
    assert service.context["board"].tiles["open"] == 3


def test_the_service_dashboard_reads_a_fixed_number_of_queries(
    client, desk, agent, ticket_make, own_customer
):
    client.force_login(agent)
    client.get(DASHBOARD)
    with CaptureQueriesContext(connection) as small:
        client.get(DASHBOARD)
    for n in range(8):
        ticket_make(agent, own_customer, subject=f"报修{n}")
    with CaptureQueriesContext(connection) as large:
        client.get(DASHBOARD)
    assert len(large) == len(small) <= 20


def test_an_empty_chart_says_no_data_yet(client, agent):
    client.force_login(agent)
    body = client.get(DASHBOARD).content.decode()
    assert 'data-testid="empty-tickets"' in body and "暂无数据" in body
    assert "<canvas" not in body
