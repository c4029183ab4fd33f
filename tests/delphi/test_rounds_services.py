"""The round lifecycle services: create, items, open (locks the protocol), close."""

import pytest
from django.core.exceptions import ValidationError

from delphi.models import AuditEvent, Round, RoundPrompt
from delphi.services.rounds import round_close, round_create, round_open, round_set_items
from tests import factories as f


def test_round_create_numbers_rounds_in_sequence(study, researcher):
    r1 = round_create(study=study, kind=Round.Kind.RATING, by=researcher, title="First")
    r2 = round_create(study=study, kind=Round.Kind.RATING, by=researcher)
    assert (r1.number, r2.number) == (1, 2)
    assert r1.status == Round.Status.DRAFT


def test_generation_round_gets_one_default_prompt_per_scenario(study, researcher):
    sc = f.make_scenario(study, code="S1", title="Street")
    f.make_scenario(study, code="S2", title="Home")
    rnd = round_create(study=study, kind=Round.Kind.GENERATION, by=researcher)
    prompts = list(RoundPrompt.objects.filter(round=rnd))
    assert len(prompts) == 2
    assert prompts[0].scenario == sc
    assert prompts[0].text == "For scenario S1 (Street): what must the responder be able to do?"


def test_set_items_orders_and_replaces(study, researcher):
    a, b, c = (f.make_statement(study) for _ in range(3))
    rnd = round_create(study=study, kind=Round.Kind.RATING, by=researcher)
    round_set_items(round=rnd, statement_ids=[c.pk, a.pk], by=researcher)
    assert [i.statement for i in rnd.items.all()] == [c, a]
    round_set_items(round=rnd, statement_ids=[b.pk, c.pk], by=researcher)
    assert [i.statement for i in rnd.items.all()] == [b, c]


def test_set_items_per_scenario_crosses_statements_and_scenarios(study, researcher):
    a, b = f.make_statement(study), f.make_statement(study)
    s1, s2 = f.make_scenario(study), f.make_scenario(study)
    rnd = round_create(study=study, kind=Round.Kind.RATING, by=researcher)
    round_set_items(round=rnd, statement_ids=[a.pk, b.pk], scenario_ids=[s1.pk, s2.pk], by=None)
    assert [(i.statement, i.scenario) for i in rnd.items.all()] == [
        (a, s1),
        (b, s1),
        (a, s2),
        (b, s2),
    ]


def test_set_items_refuses_statement_of_another_study(study, researcher):
    other = f.make_study(title="Other")
    foreign = f.make_statement(other)
    rnd = round_create(study=study, kind=Round.Kind.RATING, by=researcher)
    with pytest.raises(ValidationError):
        round_set_items(round=rnd, statement_ids=[foreign.pk], by=researcher)
    assert not rnd.items.exists()


def test_open_round_one_locks_protocol_and_snapshots_rule(study, researcher):
    rnd = f.make_round(study, statements=[f.make_statement(study)])
    round_open(round=rnd, by=researcher)
    rnd.refresh_from_db()
    study.refresh_from_db()
    assert rnd.status == Round.Status.OPEN and rnd.opened_at is not None
    assert rnd.rule_snapshot["consensus_definition"] == study.consensus_definition
    assert rnd.rule_snapshot["bands"] == [[1, 3], [4, 6], [7, 9]]
    assert study.protocol_locked_at is not None
    assert AuditEvent.objects.filter(study=study, verb="round_open").count() == 1


def test_open_twice_is_refused(study, researcher):
    rnd = f.make_round(study, statements=[f.make_statement(study)])
    round_open(round=rnd, by=researcher)
    with pytest.raises(ValidationError, match="no longer a draft"):
        round_open(round=rnd, by=researcher)


def test_open_without_items_is_refused(study, researcher):
    rnd = f.make_round(study)
    with pytest.raises(ValidationError, match="items"):
        round_open(round=rnd, by=researcher)
    rnd.refresh_from_db()
    assert rnd.status == Round.Status.DRAFT


def test_open_refused_while_an_earlier_round_is_open(study, researcher):
    s = f.make_statement(study)
    r1 = f.make_round(study, statements=[s])
    r2 = f.make_round(study, number=2, statements=[s])
    round_open(round=r1, by=researcher)
    with pytest.raises(ValidationError, match="earlier rounds"):
        round_open(round=r2, by=researcher)


def test_close_sets_closed_and_refuses_a_second_close(study, researcher):
    rnd = f.make_round(study, statements=[f.make_statement(study)])
    round_open(round=rnd, by=researcher)
    round_close(round=rnd, by=researcher, reason="No panel in this test: below quorum.")
    rnd.refresh_from_db()
    assert rnd.status in (Round.Status.CLOSED, Round.Status.ANALYSED)
    assert rnd.closed_at is not None
    with pytest.raises(ValidationError, match="not open"):
        round_close(round=rnd, by=researcher)


def test_closing_a_rating_round_starts_a_consensus_run(study, researcher):
    from delphi.models import ConsensusRun

    rnd = f.make_round(study, statements=[f.make_statement(study)])
    round_open(round=rnd, by=researcher)
    round_close(round=rnd, by=researcher, reason="No panel in this test: below quorum.")
    assert ConsensusRun.objects.filter(round=rnd).count() == 1


def test_closing_a_generation_round_computes_nothing(study, researcher):
    from delphi.models import ConsensusRun

    rnd = round_create(study=study, kind=Round.Kind.GENERATION, by=researcher)
    round_open(round=rnd, by=researcher)
    round_close(round=rnd, by=None)
    rnd.refresh_from_db()
    assert rnd.status == Round.Status.CLOSED
    assert not ConsensusRun.objects.filter(round=rnd).exists()
    assert AuditEvent.objects.filter(study=study, verb="round_close", actor=None).exists()


def test_prompts_only_on_generation_rounds(study, researcher):
    from delphi.services.rounds import round_prompt_add

    rnd = f.make_round(study)
    with pytest.raises(ValidationError, match="item-generation"):
        round_prompt_add(round=rnd, by=researcher, text="Anything else?")


def test_open_round_saved_unchanged_from_the_form_is_accepted(study, researcher):
    import datetime as dt

    from delphi.services.rounds import round_update

    opens = dt.datetime(2026, 5, 1, 9, 30, 27, tzinfo=dt.UTC)
    rnd = f.make_round(study, statements=[f.make_statement(study)], opens_at=opens)
    round_open(round=rnd, by=researcher)
    # The form sends the opening time without seconds, and a new deadline.
    closes = dt.datetime(2026, 6, 1, 17, 0, tzinfo=dt.UTC)
    round_update(round=rnd, by=researcher, opens_at=opens.replace(second=0), closes_at=closes)
    rnd.refresh_from_db()
    assert rnd.closes_at == closes and rnd.opens_at == opens
    with pytest.raises(ValidationError, match="only the title, instructions and deadline"):
        round_update(round=rnd, by=researcher, opens_at=opens + dt.timedelta(days=1))
