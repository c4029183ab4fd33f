"""`load_demo`: the crisis-responder demo study, built through the real services."""

import io
from collections import Counter

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from competencies.models import Domain, Provenance, Scenario, Statement
from delphi.demo import content
from delphi.demo.generation import ANSWERS, NEW_FROM_ANSWERS, SUGGESTIONS
from delphi.demo.services import demo_delete, demo_study_get
from delphi.demo.simulation import simulate_panel
from delphi.demo.statements import STATEMENTS
from delphi.models import (
    AnswerCode,
    ConsensusRun,
    ItemChange,
    ItemDecision,
    ItemResult,
    Membership,
    PromptAnswer,
    Rating,
    Response,
    Round,
    Study,
    Suggestion,
)
from panels.models import Contact, Panelist


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    # The demo creates three accounts; the default hasher would dominate the timings.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def demo(db):
    call_command("load_demo", verbosity=0)
    return Study.objects.get(uuid=content.DEMO_STUDY_UUID)


def row_counts() -> dict:
    return {
        m._meta.label: m.objects.count()
        for app in ("delphi", "panels", "competencies", "auth")
        for m in apps.get_app_config(app).get_models()
    }


def test_builds_the_crisis_responder_study(demo):
    assert demo.is_demo
    assert demo.title == content.TITLE
    assert "workforce" in demo.aims and "Delphi" in demo.aims
    assert demo.consent_text and demo.consent_text_es
    assert (demo.scale_min, demo.scale_max) == (1, 9)
    assert demo.bands == [[1, 3], [4, 6], [7, 9]]
    assert demo.consensus_definition == {"preset": "comet", "scope": "all"}
    assert demo.planned_rounds == 4  # open-ended, rating, ranking, re-rating
    assert demo.stopping_rule == Study.StoppingRule.CONSENSUS
    assert demo.is_locked  # round 1 was opened through round_open
    assert [(r.number, r.kind) for r in demo.rounds.order_by("number")] == [
        (1, "generation"),
        (2, "rating"),
        (3, "ranking"),
        (4, "rating"),
    ]


def test_groups_domains_statements_and_scenarios(demo):
    groups = list(demo.panel.groups.all())
    assert [g.code for g in groups] == ["law", "clinical", "dispatch", "peer", "family"]
    assert all(g.name_es and g.target_size == 12 for g in groups)

    domains = Domain.objects.filter(framework=demo.framework)
    assert domains.count() == 10
    assert all(d.name_es for d in domains)

    statements = Statement.objects.filter(framework=demo.framework)
    assert 45 <= statements.count() <= 55
    per_domain = Counter(statements.values_list("domain__code", flat=True))
    assert set(per_domain) == {d.code for d in domains}
    assert all(4 <= n <= 6 for n in per_domain.values()), per_domain
    # Drafted from the expert-panel themes, but for the three the open-ended answers brought
    # in and the one adopted from a panelist's suggestion in round 2.
    provenance = Counter(statements.values_list("provenance", flat=True))
    assert provenance == {
        Provenance.EXPERT_PANEL: len(STATEMENTS) - len(NEW_FROM_ANSWERS),
        Provenance.PANELIST_ANSWER: len(NEW_FROM_ANSWERS),
        Provenance.PANELIST: 1,
    }
    for s in statements:
        assert s.text.startswith(("The responder can", "The responder needs", "The 911"))
        assert s.plain_text and s.text_es and s.plain_text_es, s.code
        assert s.text_es != s.text and s.plain_text != s.text

    scenarios = list(Scenario.objects.filter(framework=demo.framework).order_by("order"))
    assert [s.risk_level for s in scenarios] == ["low", "moderate", "high"]
    assert all(s.vignette and s.vignette_es and s.title_es for s in scenarios)
    assert "knife" in scenarios[2].vignette and "cuchillo" in scenarios[2].vignette_es


def test_simulated_panel(demo):
    panelists = Panelist.objects.filter(panel=demo.panel, is_simulated=True)
    assert 55 <= panelists.count() <= 65
    assert all(p.is_simulated for p in panelists)
    per_group = Counter(panelists.values_list("group__code", flat=True))
    assert set(per_group) == {"law", "clinical", "dispatch", "peer", "family"}
    assert min(per_group.values()) >= 10
    emails = Contact.objects.filter(panel=demo.panel, panelist__is_simulated=True).values_list(
        "email", flat=True
    )
    assert all(e.endswith("@example.org") for e in emails)
    assert len(set(emails)) == panelists.count()
    spanish = panelists.filter(language="es").count()
    assert 0.05 <= spanish / panelists.count() <= 0.15
    assert len(set(panelists.values_list("years_experience", flat=True))) > 5
    assert len(set(panelists.values_list("setting", flat=True))) >= 3
    assert panelists.filter(lived_experience=True).exists()


def test_rating_round_2_is_analysed_with_results(demo):
    r1 = demo.rounds.get(number=2)
    assert r1.status == Round.Status.ANALYSED
    assert r1.opened_at < r1.closed_at <= r1.analysed_at
    assert r1.rule_snapshot["consensus_definition"]["preset"] == "comet"
    items = r1.items.count()
    assert items == len(STATEMENTS)

    submitted = Response.objects.filter(round=r1, status=Response.Status.SUBMITTED)
    assert submitted.count() >= 50
    assert Response.objects.filter(round=r1, status=Response.Status.DRAFT).exists()
    ratings = Rating.objects.filter(response__in=submitted)
    assert ratings.count() == submitted.count() * items
    assert ratings.filter(unable=True, value__isnull=True).exists()
    assert ratings.exclude(comment="").count() >= 20
    assert not ratings.filter(unable=False, value__isnull=True).exists()

    # One row per item x (each group, "all", "balanced").
    assert ItemResult.objects.filter(round=r1).count() == items * (5 + 2)
    assert ItemResult.objects.filter(round=r1, group_key="all", median__isnull=True).count() == 0
    verdicts = Counter(ItemDecision.objects.filter(round=r1).values_list("verdict", flat=True))
    assert sum(verdicts.values()) == items
    # A realistic round 1: most statements in, some carried forward, at least one out.
    assert verdicts["in"] > verdicts["none"] > 0 and verdicts["out"] >= 1, verdicts
    assert ConsensusRun.objects.filter(round=r1, status=ConsensusRun.Status.DONE).exists()


def test_groups_disagree_where_the_slides_say_they_would(demo):
    r1 = demo.rounds.get(number=2)

    def mean(group, domain):
        rows = ItemResult.objects.filter(
            round=r1, group_key=group, item__statement__domain__code=domain
        ).values_list("mean", flat=True)
        return sum(rows) / len(rows)

    assert mean("law", "SAF") > mean("peer", "SAF") + 1
    assert mean("peer", "LIV") > mean("law", "LIV") + 1
    assert mean("dispatch", "TRI") > mean("all", "TRI")
    assert mean("family", "FAM") > mean("all", "FAM")


def test_round4_is_open_with_the_carried_items_the_adopted_one_and_partial_answers(demo):
    r1 = demo.rounds.get(number=2)
    r2 = demo.rounds.get(kind=Round.Kind.RATING, status=Round.Status.OPEN)
    assert r2.number == 4
    from delphi.participation import round_answer_status

    counts = round_answer_status(round=r2).all.counts
    # Every state a live round has, in real-looking numbers.
    assert all(counts[s] >= 3 for s in ("submitted", "complete", "partial", "not_started"))
    carried = set(
        ItemDecision.objects.filter(round=r1, carried_forward=True).values_list(
            "item_id", flat=True
        )
    )
    assert carried
    r2_items = list(r2.items.select_related("carried_from", "statement"))
    assert {i.carried_from_id for i in r2_items if i.carried_from_id} == carried
    assert all(i.statement_id == i.carried_from.statement_id for i in r2_items if i.carried_from)
    # The statement adopted from a round-2 suggestion joins them, new.
    new = [i.statement for i in r2_items if i.carried_from_id is None]
    assert [s.provenance for s in new] == [Provenance.PANELIST]
    assert Rating.objects.filter(item__statement=new[0], response__round=r2).exists()
    assert r2.instructions and r2.instructions_es


def test_open_round_has_a_communications_log_with_one_reminder_out(demo):
    from django.core import mail

    from delphi.models import Communication, ReminderSent
    from delphi.services.communications import communications_summary
    from delphi.services.sweeps import sweep_due

    rnd = demo.rounds.get(kind=Round.Kind.RATING, status=Round.Status.OPEN)
    log = Communication.objects.filter(round=rnd)
    invited = set(log.filter(kind="invitation").values_list("panelist_id", flat=True))
    active = set(
        demo.panel.panelists.filter(status="active", unsubscribed_at__isnull=True).values_list(
            "pk", flat=True
        )
    )
    assert invited == active and log.filter(kind="invitation", status="sent").count() == len(active)
    # The "3 days after opening" slot went to the non-completers of that day, once each.
    reminders = log.filter(kind="reminder")
    slots = ReminderSent.objects.filter(round=rnd)
    assert set(slots.values_list("slot", flat=True)) == {"open+3d"}
    assert slots.count() == reminders.count() > 10
    sent_at = reminders.exclude(sent_at=None).values_list("sent_at", flat=True).first()
    submitted_before = set(
        rnd.responses.filter(status="submitted", submitted_at__lte=sent_at).values_list(
            "panelist_id", flat=True
        )
    )
    assert submitted_before
    assert not submitted_before & set(reminders.values_list("panelist_id", flat=True))
    summary = {row["kind"]: row for row in communications_summary(round=rnd)}
    assert summary["reminder"]["failed"] == 1
    assert summary["reminder"]["opened"] > 0 and summary["reminder"]["submitted_after"] > 0
    assert summary["invitation"]["submitted_after"] > 0
    # Nothing was e-mailed while building it, and the next sweep sends nothing more now.
    assert not mail.outbox
    result = sweep_due()
    assert (result.reminders_queued, len(result.closed)) == (0, 0)
    assert not mail.outbox


def test_accounts_and_roles(demo):
    users = get_user_model().objects
    assert users.get(username="researcher").check_password("delphi-demo")
    assert users.get(username="analyst").check_password("delphi-demo")
    admin = users.get(username="admin")
    assert admin.is_superuser and admin.check_password("delphi-admin")
    roles = dict(Membership.objects.filter(study=demo).values_list("user__username", "role"))
    assert roles == {"researcher": "researcher", "analyst": "analyst"}


def test_twice_changes_nothing(demo):
    before = row_counts()
    call_command("load_demo", verbosity=0)
    call_command("load_demo", "--if-empty", verbosity=0)
    assert row_counts() == before
    assert Study.objects.filter(is_demo=True).count() == 1


def test_if_empty_leaves_a_database_with_studies_alone(study):
    call_command("load_demo", "--if-empty", verbosity=0)
    assert demo_study_get() is None
    assert Study.objects.count() == 1
    # The accounts `make run` prints exist all the same.
    assert get_user_model().objects.filter(username="researcher").exists()


def test_existing_accounts_keep_their_passwords(db):
    get_user_model().objects.create_user("researcher", password="changed-by-the-team")
    call_command("load_demo", verbosity=0)
    assert get_user_model().objects.get(username="researcher").check_password("changed-by-the-team")


def test_reset_rebuilds_only_the_demo(demo, study):
    before = row_counts()
    old_r1 = demo.rounds.get(number=1).pk
    call_command("load_demo", "--reset", verbosity=0)
    assert row_counts() == before
    rebuilt = demo_study_get()
    assert rebuilt.pk != demo.pk and rebuilt.rounds.get(number=1).pk != old_r1
    assert Study.objects.filter(pk=study.pk).exists()


def test_if_empty_and_reset_together_are_refused(db):
    with pytest.raises(CommandError, match="not both"):
        call_command("load_demo", "--if-empty", "--reset", verbosity=0)
    assert not Study.objects.exists()


def test_demo_delete_refuses_other_studies(study):
    with pytest.raises(ValueError):
        demo_delete(study=study)
    assert Study.objects.filter(pk=study.pk).exists()


def test_simulation_is_deterministic():
    a = simulate_panel(STATEMENTS)
    b = simulate_panel(STATEMENTS)
    assert [(p.email, p.ratings) for p in a] == [(p.email, p.ratings) for p in b]
    assert any(p.ratings for p in a)


def test_statement_codes_are_unique_and_domains_known():
    codes = [s.code for s in STATEMENTS]
    assert len(codes) == len(set(codes))
    assert {s.domain for s in STATEMENTS} == {d[0] for d in content.DOMAINS}


def test_command_reports_what_it_did(db):
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    assert "Loaded the demo study" in out.getvalue()
    assert "researcher / delphi-demo" in out.getvalue()
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    assert "already loaded, left as it is" in out.getvalue()
    out = io.StringIO()
    call_command("load_demo", "--reset", stdout=out, verbosity=0)
    assert out.getvalue() == ""


def test_scale_anchors_are_translated_for_spanish_panelists(demo):
    from django.utils import translation

    with translation.override("es"):
        translated = {translation.gettext(label) for label in demo.scale_anchors.values()}
    assert translated == {"No importante", "Importante pero no crítico", "Crítico"}


def test_ranking_round_of_the_consensus_statements_is_analysed(demo):
    from delphi.consensus.ranking import ranking_consensus
    from delphi.consensus.selectors import round_previous
    from delphi.models import RankingConcordance, RankingItemResult

    r1 = demo.rounds.get(number=2)
    ranking = demo.rounds.get(kind=Round.Kind.RANKING)
    assert ranking.number == 3
    assert ranking.status == Round.Status.ANALYSED and ranking.number > r1.number
    assert r1.closed_at < ranking.opened_at < ranking.closed_at <= ranking.analysed_at
    consensus_in = set(
        ItemDecision.objects.filter(round=r1, verdict="in").values_list(
            "item__statement_id", flat=True
        )
    )
    assert set(ranking.items.values_list("statement_id", flat=True)) == consensus_in
    assert ranking.rule_snapshot["ranking_top_k"] == demo.ranking_top_k == 10
    overall = RankingConcordance.objects.get(round=ranking, group_key="all")
    assert overall.n_panelists >= 30 and overall.n_items == len(consensus_in)
    # Real-looking agreement: clearly above chance, short of the 0.7 consensus rule.
    assert 0.2 < overall.kendall_w < 0.7 and overall.p < 0.001
    assert ranking_consensus(round=ranking)["reached"] is False
    assert RankingItemResult.objects.filter(round=ranking, group_key="all").count() == len(
        consensus_in
    )
    # Draft rankings stopped part-way exist, and are not analysed.
    assert Response.objects.filter(round=ranking, status=Response.Status.DRAFT).exists()
    # The draft rating round after it is compared with round 1, not with the ranking round.
    draft = demo.rounds.get(kind=Round.Kind.RATING, status=Round.Status.OPEN)
    assert draft.number > ranking.number
    assert round_previous(round=draft) == r1


def test_round1_is_a_closed_generation_round_with_the_scenarios_prompts(demo):
    gen = demo.rounds.get(number=1)
    assert gen.kind == Round.Kind.GENERATION and gen.status == Round.Status.CLOSED
    assert gen.opened_at < gen.closed_at < demo.rounds.get(number=2).opened_at
    prompts = list(gen.prompts.select_related("scenario").order_by("order"))
    assert [p.scenario.code if p.scenario else None for p in prompts] == [
        "SC1",
        "SC2",
        "SC3",
        None,
    ]
    assert all("what must the responder be able to do" in p.text for p in prompts[:3])
    assert all(p.text_es for p in prompts)
    answers = PromptAnswer.objects.filter(response__round=gen)
    assert answers.count() == len(ANSWERS)
    # Every scenario answered, by every stakeholder group, some in Spanish by the panelists
    # who prefer it; submitted but for two drafts.
    assert set(answers.values_list("prompt__scenario__code", flat=True)) == {
        "SC1",
        "SC2",
        "SC3",
        None,
    }
    assert len(set(answers.values_list("response__panelist__group__code", flat=True))) == 5
    spanish = answers.filter(response__panelist__language="es")
    assert spanish.count() >= 5
    assert all({"que", "la", "con", "de"} & set(a.text.lower().split()) for a in spanish)
    assert gen.responses.filter(status=Response.Status.DRAFT).count() == 2
    assert gen.responses.filter(status=Response.Status.SUBMITTED).count() >= 40
    assert not gen.below_quorum


def test_answers_are_coded_into_the_rating_round_statements(demo):
    from delphi.coding_selectors import round_coding_summary, statement_sources
    from delphi.services.coding import derivations

    gen = demo.rounds.get(number=1)
    rating = demo.rounds.get(number=2)
    summary = round_coding_summary(gen)
    assert summary["total"] == len(ANSWERS)
    assert summary["unusable"] >= 3 and summary["todo"] == 3  # left for a newcomer to code
    assert summary["coded"] == summary["total"] - summary["unusable"] - summary["todo"]
    codes = AnswerCode.objects.filter(round=gen, withdrawn_at__isnull=True)
    # Unusable answers say why.
    assert all(c.unusable_reason for c in codes.filter(statement__isnull=True))
    # Every coded statement is in the rating round, several derived from several answers.
    coded = set(codes.exclude(statement=None).values_list("statement_id", flat=True))
    assert coded <= set(rating.items.values_list("statement_id", flat=True))
    counts = derivations(coded)
    assert sum(1 for c in counts.values() if c[1] >= 2) >= 5
    # An answer supporting two statements, each by a fragment of it.
    per_answer = Counter(codes.exclude(statement=None).values_list("answer_id", flat=True))
    two = next(a for a, n in per_answer.items() if n == 2)
    pair = codes.filter(answer_id=two)
    assert all(c.fragment and c.fragment in c.answer.text for c in pair)
    # The statements the answers brought in were created from them.
    for code in NEW_FROM_ANSWERS:
        s = Statement.objects.get(framework=demo.framework, code=code)
        assert s.provenance == Provenance.PANELIST_ANSWER
        assert len(statement_sources(s)) >= 2
    # Coded in the week after the round closed, before the rating round opened.
    assert all(gen.closed_at < c.created_at < rating.opened_at for c in codes)
    # "Start the first rating round" wrote each coded statement's derivation into its lineage.
    reasons = ItemChange.objects.filter(round=rating, action="added").values_list(
        "reason", flat=True
    )
    assert len(reasons) == len(coded)
    assert all(r.startswith("Derived from ") and "in round 1" in r for r in reasons)


def test_suggestions_of_the_rating_round_were_decided_with_reasons(demo):
    rating = demo.rounds.get(number=2)
    rows = list(Suggestion.objects.filter(round__study=demo).order_by("created_at"))
    assert len(rows) == len(SUGGESTIONS)
    assert {r.round_id for r in rows} == {rating.pk}
    status = Counter(r.status for r in rows)
    assert status == {"adopted": 1, "merged": 1, "declined": 1, "new": 1}
    for r in rows:
        assert rating.opened_at < r.created_at < rating.closed_at
        if r.status != "new":
            assert r.decision_reason and r.decided_at > rating.closed_at
            # Each decision joined the coding queue as a code of the suggestion.
            assert AnswerCode.objects.filter(suggestion=r).count() == 1
    merged = next(r for r in rows if r.status == "merged")
    assert merged.statement.code == "COM-5"
