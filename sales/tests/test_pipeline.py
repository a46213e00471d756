"""Opportunities through the stages, their history, the board, competitors' win/loss."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone, translation

from crm.models import AuditAction, AuditEvent
from kehu.tests.fixtures import PASSWORD
from sales import pipeline
from sales.models import (
    LostReason,
    Opportunity,
    OpportunityStageChange,
    Stage,
    StageSetting,
)
from sales.selectors import visible_opportunities
from sales.services.lines import LineInput
from sales.services.orders import order_create

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def close_in(days: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=days)


@pytest.fixture
def rival(manager):
    return pipeline.competitor_save(
        actor=manager,
        data={"name": "云帆软件", "price_position": "lower", "strengths": "价格低"},
    )


@pytest.fixture
def opportunity_make(db):
    def make(actor, customer, title="年度采购", amount="120000.00", **data):
        return pipeline.opportunity_create(
            actor=actor,
            customer_id=customer.pk,
            data={"title": title, "amount": amount, "expected_close": close_in(30), **data},
        )

    return make


def login(client, user, language="en"):
    user.language = language
    user.save(update_fields=["language"])
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_a_new_opportunity_takes_its_stage_probability_and_starts_its_history(
    rep, own_customer, opportunity_make
):
    opportunity = opportunity_make(rep, own_customer)
    assert (opportunity.stage, opportunity.probability, opportunity.owner) == (
        Stage.QUALIFICATION,
        10,
        rep,
    )
    assert opportunity.team == rep.team
    assert opportunity.weighted_amount == Decimal("12000.00")
    (first,) = OpportunityStageChange.objects.filter(opportunity=opportunity)
    assert (first.from_stage, first.to_stage, first.actor) == ("", Stage.QUALIFICATION, rep)
    assert AuditEvent.objects.filter(
        action=AuditAction.CREATE, target_id=str(opportunity.pk)
    ).exists()


def test_moves_follow_the_editable_defaults_and_are_all_kept(
    rep, own_customer, opportunity_make, rival
):
    StageSetting.objects.filter(stage=Stage.PROPOSAL).update(probability=60)
    opportunity = opportunity_make(rep, own_customer, stage=Stage.NEEDS_ANALYSIS)
    assert opportunity.probability == 25
    moved = pipeline.opportunity_move(
        actor=rep, opportunity_id=opportunity.pk, stage=Stage.PROPOSAL, version=1
    )
    assert (moved.stage, moved.probability, moved.version) == (Stage.PROPOSAL, 60, 2)
    # A loss says why, and to whom when it went to a competitor.
    with pytest.raises(ValidationError) as refused:
        pipeline.opportunity_move(actor=rep, opportunity_id=opportunity.pk, stage=Stage.LOST)
    assert "lost_reason" in refused.value.error_dict
    with pytest.raises(ValidationError) as refused:
        pipeline.opportunity_move(
            actor=rep,
            opportunity_id=opportunity.pk,
            stage=Stage.LOST,
            lost_reason=LostReason.COMPETITOR,
        )
    assert "competitor" in refused.value.error_dict
    lost = pipeline.opportunity_move(
        actor=rep,
        opportunity_id=opportunity.pk,
        stage=Stage.LOST,
        lost_reason=LostReason.COMPETITOR,
        competitor=rival,
        lost_notes="对方报价低 15%",
    )
    assert (lost.probability, lost.competitor, lost.closed_at is not None) == (0, rival, True)
    reopened = pipeline.opportunity_move(
        actor=rep, opportunity_id=opportunity.pk, stage=Stage.NEGOTIATION
    )
    assert (reopened.closed_at, reopened.lost_reason, reopened.probability) == (None, "", 75)
    history = list(
        OpportunityStageChange.objects.filter(opportunity=opportunity).values_list(
            "from_stage", "to_stage", "probability"
        )
    )
    assert history == [
        ("", "needs_analysis", 25),
        ("needs_analysis", "proposal", 60),
        ("proposal", "lost", 0),
        ("lost", "negotiation", 75),
    ]


def test_a_stale_page_cannot_overwrite_a_move(rep, own_customer, opportunity_make):
    opportunity = opportunity_make(rep, own_customer)
    pipeline.opportunity_move(actor=rep, opportunity_id=opportunity.pk, stage=Stage.PROPOSAL)
    with pytest.raises(pipeline.OpportunityConflict):
        pipeline.opportunity_update(
            actor=rep, opportunity_id=opportunity.pk, version=1, data={"title": "改了"}
        )


def test_bad_input_is_refused_field_by_field(rep, own_customer, far_customer, opportunity_make):
    with pytest.raises(ValidationError) as refused:
        opportunity_make(rep, own_customer, title="", amount="-5", probability="150")
    assert set(refused.value.error_dict) >= {"title", "amount", "probability"}
    with pytest.raises(ValidationError) as refused:
        opportunity_make(rep, own_customer, amount="100.001")
    assert "amount" in refused.value.error_dict
    # Another team's customer: not theirs to sell to.
    with pytest.raises(ValidationError, match="may not open opportunities"):
        opportunity_make(rep, far_customer)
    assert not Opportunity.objects.exists()


def test_a_won_opportunity_creates_its_order_once(rep, own_customer, opportunity_make, headphones):
    opportunity = opportunity_make(rep, own_customer, amount="598.00")
    line = [LineInput(product=headphones, quantity=Decimal(2))]
    with pytest.raises(ValidationError, match="Only a won opportunity"):
        order_create(
            actor=rep, customer_id=own_customer.pk, data={}, lines=line,
            opportunity_id=opportunity.pk,
        )  # fmt: skip
    pipeline.opportunity_move(actor=rep, opportunity_id=opportunity.pk, stage=Stage.WON)
    order = order_create(
        actor=rep, customer_id=own_customer.pk, data={}, lines=line, opportunity_id=opportunity.pk
    )
    opportunity.refresh_from_db()
    assert opportunity.order == order
    with pytest.raises(ValidationError, match="has created its order already"):
        order_create(
            actor=rep, customer_id=own_customer.pk, data={}, lines=line,
            opportunity_id=opportunity.pk,
        )  # fmt: skip


def test_the_order_page_starts_from_the_won_opportunity(
    client, rep, own_customer, opportunity_make
):
    opportunity = opportunity_make(rep, own_customer, title="门店改造", amount="8800.00")
    pipeline.opportunity_move(actor=rep, opportunity_id=opportunity.pk, stage=Stage.WON)
    login(client, rep)
    detail = client.get(opportunity.get_absolute_url()).content.decode()
    assert 'id="create-order"' in detail
    url = f"{reverse('sales:order_create')}?customer={own_customer.pk}&opportunity={opportunity.pk}"
    page = client.get(url)
    assert "门店改造" in page.content.decode()
    lines = page.context["formset"].initial
    assert lines == [{"description": "门店改造", "quantity": "1", "unit_price": "8800.00"}]


def test_scoping_follows_the_customer_for_every_role(
    client, rep, far_rep, manager, auditor, own_customer, far_customer, opportunity_make
):
    mine = opportunity_make(rep, own_customer)
    theirs = opportunity_make(far_rep, far_customer, title="别组的单")
    for user, sees in ((rep, {mine}), (manager, {mine}), (auditor, {mine, theirs})):
        assert set(visible_opportunities(user)) == sees, user
    login(client, rep)
    assert client.get(theirs.get_absolute_url()).status_code == 404
    board = client.get(reverse("sales:pipeline")).content.decode()
    assert "年度采购" in board and "别组的单" not in board
    # A move on another team's opportunity answers as if it did not exist.
    response = client.post(
        reverse("sales:opportunity_move", args=[theirs.pk]), {"stage": Stage.WON}
    )
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.stage == Stage.QUALIFICATION
    # The auditor reads, and has nothing to move with.
    client.logout()
    login(client, auditor)
    page = client.get(theirs.get_absolute_url()).content.decode()
    assert "stage-moves" not in page
    move = client.post(reverse("sales:opportunity_move", args=[theirs.pk]), {"stage": "won"})
    assert move.status_code == 403


def test_the_board_moves_a_card_in_place_and_sends_a_loss_to_its_page(
    client, rep, own_customer, opportunity_make
):
    first = opportunity_make(rep, own_customer, title="甲项目", amount="1000.00")
    opportunity_make(rep, own_customer, title="乙项目", amount="3000.00", stage="proposal")
    login(client, rep)
    board = client.get(reverse("sales:pipeline"))
    columns = {column.stage: column for column in board.context["columns"]}
    assert (columns["qualification"].count, columns["proposal"].count) == (1, 1)
    assert board.context["open_amount"] == Decimal("4000.00")
    assert board.context["open_weighted"] == Decimal("1600.00")  # 1000 × 10 % + 3000 × 50 %
    response = client.post(
        reverse("sales:opportunity_move", args=[first.pk]),
        {"stage": "negotiation", "from": "board", "query": "owner=me", "version": "1"},
        HTTP_HX_REQUEST="true",
        follow=True,
    )
    assert response.content.decode().lstrip().startswith('<div id="board">')  # in place
    columns = {column.stage: column for column in response.context["columns"]}
    assert [card.title for card in columns["negotiation"].cards] == ["甲项目"]
    lost = client.post(
        reverse("sales:opportunity_move", args=[first.pk]),
        {"stage": "lost", "from": "board", "query": ""},
        HTTP_HX_REQUEST="true",
    )
    assert lost["HX-Redirect"] == first.get_absolute_url() + "#lost"
    first.refresh_from_db()
    assert first.stage == Stage.NEGOTIATION


def test_a_loss_without_its_reason_is_refused_next_to_the_field(
    client, rep, own_customer, opportunity_make, rival
):
    opportunity = opportunity_make(rep, own_customer)
    login(client, rep)
    url = reverse("sales:opportunity_move", args=[opportunity.pk])
    page = client.post(url, {"stage": "lost", "lost_reason": "competitor"})
    assert "Name the competitor who won it." in page.content.decode()
    response = client.post(
        url, {"stage": "lost", "lost_reason": "competitor", "competitor": rival.pk}
    )
    assert response.status_code == 302
    opportunity.refresh_from_db()
    assert (opportunity.stage, opportunity.competitor) == (Stage.LOST, rival)


def test_win_and_loss_against_each_competitor(
    client, rep, manager, own_customer, colleague_customer, opportunity_make, rival
):
    other = pipeline.competitor_save(actor=manager, data={"name": "蓝海科技"})
    plan = [
        (own_customer, "won", None, "50000.00"),
        (own_customer, "lost", LostReason.PRICE, "20000.00"),
        (colleague_customer, "lost", LostReason.COMPETITOR, "30000.00"),
        (own_customer, "proposal", None, "10000.00"),
    ]
    for customer, stage, reason, amount in plan:
        actor = rep if customer == own_customer else manager
        opportunity = opportunity_make(actor, customer, amount=amount, competitor=rival)
        if stage != "qualification":
            pipeline.opportunity_move(
                actor=actor, opportunity_id=opportunity.pk, stage=stage,
                lost_reason=reason or "", competitor=rival if reason else None,
            )  # fmt: skip
    login(client, manager)
    page = client.get(reverse("sales:competitor_list"))
    records = {record.competitor: record for record in page.context["records"]}
    record = records[rival]
    assert (record.won, record.lost, record.open, record.lost_amount) == (
        1,
        2,
        1,
        Decimal("50000.00"),
    )
    assert record.win_rate == 33  # 1 won of 3 closed
    assert records[other].win_rate is None
    detail = client.get(rival.get_absolute_url())
    assert dict(detail.context["reasons"]) == {"Price": 1, "Chose a competitor": 1}
    # The rep counts only the deals they see (not the colleague's customer).
    client.logout()
    login(client, rep)
    page = client.get(reverse("sales:competitor_list"))
    record = {r.competitor: r for r in page.context["records"]}[rival]
    assert (record.won, record.lost) == (1, 1)


def test_competitor_names_are_unique_whatever_the_case(manager):
    pipeline.competitor_save(actor=manager, data={"name": "Acme"})
    with pytest.raises(ValidationError) as refused:
        pipeline.competitor_save(actor=manager, data={"name": "ACME"})
    assert "name" in refused.value.error_dict


def test_a_rep_may_not_keep_the_competitor_list(rep):
    with pytest.raises(ValidationError, match="may not change competitors"):
        pipeline.competitor_save(actor=rep, data={"name": "Acme"})


def test_the_360_page_lists_the_customers_opportunities(
    client, rep, own_customer, opportunity_make
):
    opportunity_make(rep, own_customer, title="续约项目")
    login(client, rep)
    page = client.get(own_customer.get_absolute_url()).content.decode()
    assert "续约项目" in page and 'id="new-opportunity"' in page


def test_seed_demo_fills_every_stage_with_a_history_and_contracts(db):
    import io

    from django.core.management import call_command

    from sales.models import Contract, SalesTarget

    out = io.StringIO()
    call_command("seed_demo", customers=800, orders=1500, force=True, stdout=out)
    stages = set(Opportunity.objects.values_list("stage", flat=True))
    assert stages == set(Stage.values)
    lost = Opportunity.objects.filter(stage=Stage.LOST)
    assert not lost.filter(lost_reason="").exists()
    assert not lost.filter(lost_reason="competitor", competitor__isnull=True).exists()
    for opportunity in Opportunity.objects.prefetch_related("stage_changes")[:50]:
        history = list(opportunity.stage_changes.all())
        assert history[0].from_stage == "" and history[-1].to_stage == opportunity.stage
        assert [c.changed_at for c in history] == sorted(c.changed_at for c in history)
    contracts = list(Contract.objects.all())
    assert contracts and {c.state for c in contracts} >= {"active", "expired"}
    assert any(c.renewal_is_due for c in contracts)
    assert SalesTarget.objects.filter(team__isnull=False).exists()
    assert "demo opportunities" in out.getvalue()


def test_odd_parameters_answer_a_page_never_an_error(client, rep, own_customer, opportunity_make):
    opportunity = opportunity_make(rep, own_customer, amount="12345.65", probability="50")
    assert opportunity.weighted_amount == Decimal("6172.83")  # half up, to the cent
    login(client, rep)
    for path in (
        "/sales/pipeline/?close_month=9999-12",
        "/sales/opportunities/?close_month=9999-12",
        "/sales/contracts/?ends=9999-12",
        "/sales/orders/?month=9999-12",
        "/sales/performance/?from=9999-12&to=9999-12",
    ):
        assert client.get(path).status_code == 200, path
    for path in (
        f"/sales/orders/new/?customer={own_customer.pk}&opportunity=abc",
        "/sales/opportunities/new/?customer=²",
        "/sales/contracts/new/?customer=٣",
    ):
        assert client.get(path).status_code == 404, path


def test_an_open_deal_past_its_close_date_is_warned_about_and_marked_late(
    client, rep, own_customer, opportunity_make
):
    from django.contrib.messages import get_messages

    late = opportunity_make(rep, own_customer, title="过期的单")
    Opportunity.objects.filter(pk=late.pk).update(expected_close=close_in(-3))
    on_time = opportunity_make(rep, own_customer, title="按时的单")
    login(client, rep)
    board = client.get(reverse("sales:pipeline")).content.decode()
    card = board[board.index("过期的单") :][:800]
    assert 'data-testid="card-late"' in card
    assert 'data-testid="card-late"' not in board[board.index("按时的单") :][:800]
    detail = client.get(late.get_absolute_url()).content.decode()
    assert 'data-testid="late"' in detail
    edit = client.get(reverse("sales:opportunity_update", args=[on_time.pk]))
    form = edit.context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    data["expected_close"] = close_in(-1).isoformat()
    response = client.post(reverse("sales:opportunity_update", args=[on_time.pk]), data)
    assert response.status_code == 302
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("has passed" in text for text in said), said
