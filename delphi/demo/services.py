"""Build, find and remove the demo crisis-responder study.

The study is built through the same services a researcher's clicks go through (study_create,
round_create / round_set_items / round_open / round_close, the consensus engine,
round_create_next), so the demo shows what the product really does. Only what a real panel
would have typed in the browser (profiles, consent, ratings) is written directly, in bulk.
"""

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from competencies.models import Domain, Framework, Provenance, Scenario, Statement
from delphi.demo import content
from delphi.demo.generation import (
    NEW_FROM_ANSWERS,
    build_generation_round,
    build_suggestions,
    code_generation_round,
    decide_suggestions,
)
from delphi.demo.newcomers import demo_newcomers_build
from delphi.demo.ranking import RANKING_TOP_K, build_ranking_round
from delphi.demo.simulation import SimPanelist, simulate_panel
from delphi.demo.spanish import demo_spanish_fields
from delphi.demo.statements import STATEMENTS
from delphi.models import (
    AnswerCode,
    ItemChange,
    Membership,
    PromptAnswer,
    Rating,
    Response,
    Round,
    Study,
)
from delphi.services.audit import study_purge
from panels.models import Contact, Invitation, Panel, Panelist, StakeholderGroup

# The accounts `make run` prints. Demo-only: never load the demo into a production database.
DEMO_ACCOUNTS = (
    # username, password, superuser
    ("researcher", "delphi-demo", False),
    ("analyst", "delphi-demo", False),
    ("admin", "delphi-admin", True),
)

# When the simulated rounds ran, counted back from the moment the demo is built, so the pages
# read like a study in progress: the open-ended round two months ago, coded the week after it
# closed; the rating round closed two weeks ago, the ranking round a week ago; round 4 is open.
GENERATION_OPENED_DAYS_AGO = 70
GENERATION_CLOSED_DAYS_AGO = 49
CODED_DAYS_AGO = 45
RATING_OPENED_DAYS_AGO = 35
RATING_CLOSED_DAYS_AGO = 14
SUGGESTIONS_DECIDED_DAYS_AGO = 12
# The ranking round of the consensus statements: opened a day after the rating round closed,
# closed before round 4 opened (delphi/demo/open_round.py).
RANKING_OPENED_DAYS_AFTER = 1
RANKING_CLOSED_DAYS_AGO = 7

RERATE_TITLE = "Re-rate the statements without consensus"
RERATE_INSTRUCTIONS = (
    "These statements did not reach consensus in round 2. For each one you will see your own "
    "round-2 rating, how the panel rated it (overall and by stakeholder group) and the "
    "panel's anonymous comments. Rate it again: you may keep or change your rating. One "
    "statement is new: a panelist suggested it in round 2."
)
RERATE_INSTRUCTIONS_ES = (
    "Estos enunciados no alcanzaron consenso en la segunda ronda. En cada uno verá su propia "
    "puntuación de la segunda ronda, cómo lo puntuó el panel (en conjunto y por grupo) y "
    "los comentarios anónimos del panel. Puntúelo de nuevo: puede mantener o cambiar su "
    "puntuación. Un enunciado es nuevo: lo propuso una persona del panel en la segunda ronda."
)


@dataclass
class DemoResult:
    study: Study
    created: bool
    seconds: float = 0.0


def demo_study_get() -> Study | None:
    return Study.objects.filter(uuid=content.DEMO_STUDY_UUID).first()


def demo_accounts_ensure() -> dict:
    """Create the demo accounts that are missing. An existing account is left as it is."""
    User = get_user_model()
    users = {}
    for username, password, superuser in DEMO_ACCOUNTS:
        user = User.objects.filter(username=username).first()
        if user is None:
            make = User.objects.create_superuser if superuser else User.objects.create_user
            user = make(username, password=password)
        users[username] = user
    return users


def demo_load(*, reset: bool = False) -> DemoResult:
    """Build the demo study unless it exists; with reset, remove it first and build it anew."""
    started = time.monotonic()
    users = demo_accounts_ensure()
    with transaction.atomic():
        existing = demo_study_get()
        if existing is not None and not reset:
            return DemoResult(study=existing, created=False)
        if existing is not None:
            demo_delete(study=existing)
        study = _build(researcher=users["researcher"], analyst=users["analyst"])
    return DemoResult(study=study, created=True, seconds=time.monotonic() - started)


def demo_delete(*, study: Study) -> None:
    """Remove the demo study with its panel and framework. Refuses any study not the demo's."""
    if study.uuid != content.DEMO_STUDY_UUID or not study.is_demo:
        raise ValueError("Only the demo study can be deleted this way.")
    with transaction.atomic():
        panel_id, framework_id = study.panel_id, study.framework_id
        # Rounds, items, responses, ratings, results, members, and the audit trail: the one
        # deliberate way audit rows go (study_purge).
        study_purge(study=study)
        # Panelists and statements are PROTECTed from their groups and domains: go leaf first.
        Panelist.objects.filter(panel_id=panel_id).delete()
        Panel.objects.filter(pk=panel_id).delete()
        Statement.objects.filter(framework_id=framework_id).delete()
        Framework.objects.filter(pk=framework_id).delete()


def _build(*, researcher, analyst) -> Study:
    from delphi.consensus.services import consensus_compute_now, round_create_next
    from delphi.services.coding import round_start_rating
    from delphi.services.rounds import (
        round_close,
        round_open,
        round_set_items,
        round_update,
    )
    from delphi.services.studies import study_create, study_member_add

    now = timezone.now()
    generation_opened = now - timedelta(days=GENERATION_OPENED_DAYS_AGO)
    opened_at = now - timedelta(days=RATING_OPENED_DAYS_AGO)
    closed_at = now - timedelta(days=RATING_CLOSED_DAYS_AGO)

    study = study_create(
        by=researcher,
        title=content.TITLE,
        short_title=content.SHORT_TITLE,
        aims=content.AIMS,
        consent_text=content.CONSENT_TEXT,
        consent_text_es=content.CONSENT_TEXT_ES,
        contact_email=content.CONTACT_EMAIL,
        scale_min=1,
        scale_max=9,
        scale_anchors=content.SCALE_ANCHORS,
        bands=[[1, 3], [4, 6], [7, 9]],
        consensus_definition=content.CONSENSUS_DEFINITION,
        planned_rounds=content.PLANNED_ROUNDS,
        stopping_rule=Study.StoppingRule.CONSENSUS,
        stopping_rule_detail=content.STOPPING_RULE_DETAIL,
        ranking_top_k=RANKING_TOP_K,
        is_demo=True,
    )
    # The fixed uuid is how a second `load_demo` recognises the demo; it is unique, so two
    # concurrent loads cannot both commit.
    Study.objects.filter(pk=study.pk).update(
        uuid=content.DEMO_STUDY_UUID, created_at=generation_opened - timedelta(days=21)
    )
    study.refresh_from_db()
    study_member_add(study=study, by=researcher, username=analyst.username, role="analyst")

    groups = _build_groups(study)
    _build_framework(study)
    sim = simulate_panel(STATEMENTS)
    panelists = _build_panel(study, groups, sim, opened_at=generation_opened)

    # Round 1: the open-ended round, answered, closed, then coded into statements.
    generation = build_generation_round(
        study=study,
        researcher=researcher,
        panelists=panelists,
        opened_at=generation_opened,
        closed_at=now - timedelta(days=GENERATION_CLOSED_DAYS_AGO),
    )
    code_generation_round(
        study=study,
        rnd=generation,
        researcher=researcher,
        coded_at=now - timedelta(days=CODED_DAYS_AGO),
    )
    Study.objects.filter(pk=study.pk).update(protocol_locked_at=generation_opened)

    # Round 2: "Start the first rating round" drafts it with the coded statements pre-selected;
    # the team adds the statements drafted from the expert-panel themes alone.
    rnd = round_start_rating(round=generation, by=researcher)
    ItemChange.objects.filter(round=rnd).update(at=now - timedelta(days=CODED_DAYS_AGO - 2))
    round_update(
        round=rnd,
        by=researcher,
        title=content.RATING_TITLE,
        instructions=content.RATING_INSTRUCTIONS,
        instructions_es=content.RATING_INSTRUCTIONS_ES,
        opens_at=opened_at,
        closes_at=closed_at,
    )
    by_code = {s.code: s for s in Statement.objects.filter(framework_id=study.framework_id)}
    round_set_items(
        round=rnd, statement_ids=[by_code[s.code].pk for s in STATEMENTS], by=researcher
    )
    round_open(round=rnd, by=researcher)
    _build_responses(rnd, sim, panelists, opened_at=opened_at, closed_at=closed_at)
    suggestions = build_suggestions(rating_round=rnd, opened_at=opened_at, closed_at=closed_at)
    round_close(round=rnd, by=researcher)
    # Synchronous, so the demo has results however Celery is configured; the run queued by
    # round_close then finds the same input and writes nothing.
    consensus_compute_now(round=rnd)
    Round.objects.filter(pk=rnd.pk).update(
        opened_at=opened_at,
        closed_at=closed_at,
        analysed_at=closed_at + timedelta(minutes=2),
    )

    # Round 3: a ranking round of the statements that reached consensus, closed and analysed.
    build_ranking_round(
        study=study,
        rating_round=rnd,
        researcher=researcher,
        opened_at=closed_at + timedelta(days=RANKING_OPENED_DAYS_AFTER),
        closed_at=now - timedelta(days=RANKING_CLOSED_DAYS_AGO),
    )

    # Round 4 re-rates what round 2 carried forward, plus the suggestion the team adopted; it
    # is open, with answers part-way (delphi/demo/open_round.py).
    round4 = round_create_next(round=rnd, by=researcher)
    round_update(
        round=round4,
        by=researcher,
        title=RERATE_TITLE,
        instructions=RERATE_INSTRUCTIONS,
        instructions_es=RERATE_INSTRUCTIONS_ES,
    )
    decided_at = now - timedelta(days=SUGGESTIONS_DECIDED_DAYS_AGO)
    decide_suggestions(study=study, rows=suggestions, researcher=researcher, decided_at=decided_at)
    # Round 4's lineage (carried, retired, added) was written when the team prepared it.
    ItemChange.objects.filter(round=round4).update(at=decided_at)
    demo_newcomers_build(study, groups)
    _build_open_round(round4, researcher)
    demo_spanish_fields(study)
    study.refresh_from_db()
    return study


def _build_open_round(rnd: Round, researcher) -> None:
    """The demo's open rating round with partial answers (delphi/demo/open_round.py)."""
    from delphi.demo.open_round import demo_open_round

    demo_open_round(round=rnd, researcher=researcher, token_hash=_unusable_token_hash)


def _build_groups(study: Study) -> dict[str, StakeholderGroup]:
    rows = [
        StakeholderGroup(
            panel_id=study.panel_id, code=code, name=name, name_es=name_es, target_size=target,
            order=i,
        )
        for i, (code, name, name_es, target) in enumerate(content.GROUPS)
    ]  # fmt: skip
    StakeholderGroup.objects.bulk_create(rows)
    return {g.code: g for g in StakeholderGroup.objects.filter(panel_id=study.panel_id)}


def _build_framework(study: Study) -> None:
    fw = study.framework_id
    Framework.objects.filter(pk=fw).update(
        name="CBHCR core competencies (draft framework)",
        description="Ten domains from the expert-panel themes; statements drafted by the team.",
    )
    Domain.objects.bulk_create(
        Domain(framework_id=fw, code=code, name=name, name_es=name_es, description=desc, order=i)
        for i, (code, name, name_es, desc) in enumerate(content.DOMAINS)
    )
    domains = {d.code: d for d in Domain.objects.filter(framework_id=fw)}
    Scenario.objects.bulk_create(
        Scenario(
            framework_id=fw,
            code=code,
            risk_level=risk,
            title=title,
            title_es=title_es,
            vignette=vignette,
            vignette_es=vignette_es,
            order=i,
        )
        for i, (code, risk, title, title_es, vignette, vignette_es) in enumerate(content.SCENARIOS)
    )
    # The statements the open-ended answers brought in are created from them by the coding
    # (delphi/demo/generation.py); the rest were drafted from the expert-panel themes.
    Statement.objects.bulk_create(
        Statement(
            framework_id=fw,
            domain=domains[s.domain],
            code=s.code,
            text=s.text,
            plain_text=s.plain,
            text_es=s.text_es,
            plain_text_es=s.plain_es,
            provenance=Provenance.EXPERT_PANEL,
            source_note="Expert-panel theme: " + domains[s.domain].name,
            order=i,
        )
        for i, s in enumerate(STATEMENTS)
        if s.code not in NEW_FROM_ANSWERS
    )


def _unusable_token_hash() -> str:
    # Simulated panelists get no working link: nobody ever holds the token behind this hash.
    return hashlib.sha256(("demo:" + secrets.token_urlsafe(32)).encode()).hexdigest()


def _build_panel(
    study: Study, groups: dict, sim: list[SimPanelist], *, opened_at
) -> list[Panelist]:
    # The peer who withdrew did so three days after the rating round (round 2) closed.
    withdrawn_at = timezone.now() - timedelta(days=RATING_CLOSED_DAYS_AGO - 3)
    panelists = []
    for i, p in enumerate(sim):
        started = p.outcome != "not_started"
        consented = opened_at + timedelta(hours=2 + i * 5) if started else None
        panelists.append(
            Panelist(
                panel_id=study.panel_id,
                group=groups[p.group],
                language=p.language,
                years_experience=p.years_experience,
                setting=p.setting,
                lived_experience=p.lived_experience,
                background_note=p.role,
                profile_confirmed_at=consented,
                consented_at=consented,
                consent_version=1 if started else None,
                status=Panelist.Status.WITHDRAWN if p.withdrawn else Panelist.Status.ACTIVE,
                withdrawn_at=withdrawn_at if p.withdrawn else None,
                keep_answers=True if p.withdrawn else None,
                is_simulated=True,
            )
        )
    Panelist.objects.bulk_create(panelists)
    # The panel was recruited before the first round opened (bulk_create stamps the present).
    Panelist.objects.filter(panel_id=study.panel_id).update(
        created_at=opened_at - timedelta(days=10)
    )
    Contact.objects.bulk_create(
        Contact(
            panelist=row,
            panel_id=study.panel_id,
            name=p.name,
            email=p.email,
            organisation=p.organisation,
        )
        for row, p in zip(panelists, sim, strict=True)
    )
    sent_at = opened_at + timedelta(minutes=5)
    Invitation.objects.bulk_create(
        Invitation(
            panelist=row,
            token_hash=_unusable_token_hash(),
            status=Invitation.Status.OPENED if row.consented_at else Invitation.Status.SENT,
            sent_at=sent_at,
            opened_at=row.consented_at,
            accepted_at=row.consented_at,
            expires_at=timezone.now() + timedelta(days=120),
            send_count=1 if row.consented_at else 2,  # the non-starters got a reminder
        )
        for row in panelists
    )
    Invitation.objects.filter(panelist__panel_id=study.panel_id).update(created_at=opened_at)
    return panelists


def _build_responses(rnd: Round, sim, panelists, *, opened_at, closed_at) -> None:
    items = {item.statement.code: item for item in rnd.items.select_related("statement")}
    window = (closed_at - opened_at).total_seconds()
    responses = []
    for i, (p, row) in enumerate(zip(sim, panelists, strict=True)):
        if p.outcome == "not_started":
            continue
        # Spread the submissions over the window, most in the first days, as invitations go.
        submitted_at = opened_at + timedelta(seconds=window * ((i * 37 % 60) / 60) ** 2 * 0.95)
        submitted = p.outcome == "submitted"
        responses.append(
            Response(
                round=rnd,
                panelist=row,
                status=Response.Status.SUBMITTED if submitted else Response.Status.DRAFT,
                submitted_at=submitted_at if submitted else None,
                last_page=0,
            )
        )
    Response.objects.bulk_create(responses)
    by_panelist = {r.panelist_id: r for r in responses}
    ratings = [
        Rating(
            response=by_panelist[row.pk],
            item=items[code],
            value=value,
            unable=value is None,
            comment=comment,
        )
        for p, row in zip(sim, panelists, strict=True)
        if row.pk in by_panelist
        for code, value, comment in p.ratings
    ]
    Rating.objects.bulk_create(ratings, batch_size=1000)
    # bulk_create stamps auto_now_add with the present; date the answers inside the round.
    for r in responses:
        r.started_at = max(opened_at, (r.submitted_at or closed_at) - timedelta(minutes=40))
    Response.objects.bulk_update(responses, ["started_at"])


def demo_summary(study: Study) -> dict:
    """The counts `load_demo` reports and the tests check."""
    from delphi.models import ItemResult

    rounds = list(study.rounds.order_by("number"))
    return {
        "groups": study.panel.groups.count(),
        "domains": Domain.objects.filter(framework_id=study.framework_id).count(),
        "statements": Statement.objects.filter(framework_id=study.framework_id).count(),
        "scenarios": Scenario.objects.filter(framework_id=study.framework_id).count(),
        "panelists": Panelist.objects.filter(panel_id=study.panel_id).count(),
        # (number, kind, status, what it holds): questions and answers, or items.
        "rounds": [
            (
                r.number,
                r.kind,
                r.status,
                f"{r.prompts.count()} questions, "
                f"{PromptAnswer.objects.filter(response__round=r).count()} answers"
                if r.kind == Round.Kind.GENERATION
                else f"{r.items.count()} items",
            )
            for r in rounds
        ],
        "codes": AnswerCode.objects.filter(study=study, withdrawn_at__isnull=True).count(),
        "submitted": Response.objects.filter(
            round__study=study, status=Response.Status.SUBMITTED
        ).count(),
        "ratings": Rating.objects.filter(response__round__study=study).count(),
        "item_results": ItemResult.objects.filter(round__study=study).count(),
        "members": dict(
            Membership.objects.filter(study=study).values_list("user__username", "role")
        ),
    }
