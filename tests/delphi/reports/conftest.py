"""A study with two analysed rating rounds, a reworded and a dropped item, comments (one
formula-looking), a suggestion, profiles, and a stakeholder group below the minimum size."""

import random
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from delphi.consensus import services
from delphi.models import Rating, Response, Round, Suggestion
from delphi.services.review import item_drop, item_reword
from panels.models import Invitation, StakeholderGroup
from tests import factories as f

FORMULA_COMMENT = '=HYPERLINK("http://example.org","click")'
SPACED_FORMULA = "  @SUM(A1:A9)"


def _close(rnd):
    now = timezone.now()
    Round.objects.filter(pk=rnd.pk).update(
        status=Round.Status.CLOSED,
        opened_at=now - timedelta(days=7),
        closed_at=now - timedelta(days=1),
    )
    rnd.refresh_from_db()
    return rnd


def _rate_round(rnd, panelists, rng, *, shift=0):
    items = list(rnd.items.order_by("order"))
    for p_index, panelist in enumerate(panelists):
        values = {}
        for i_index, item in enumerate(items):
            if i_index == 0:
                values[item] = rng.choice([8, 9])
            elif i_index == 1:
                values[item] = rng.choice([1, 2])
            elif p_index == i_index:
                values[item] = None
            else:
                values[item] = max(1, min(9, rng.randint(3, 8) + shift))
        f.rate(panelist, rnd, values)


@pytest.fixture
def report_world(study, researcher):
    rng = random.Random(7)
    study.min_group_size = 3
    study.save(update_fields=["min_group_size"])
    StakeholderGroup.objects.create(
        panel=study.panel, code="peer", name="Peer workers", name_es="Pares", order=9
    )
    domain = f.make_domain(study, code="CD", name="Communication and de-escalation")
    other = f.make_domain(study, code="RS", name="Risk and safety", order=1)
    statements = [
        f.make_statement(study, domain=domain if i < 4 else other, code=f"S{i + 1}")
        for i in range(6)
    ]
    panelists = []
    settings = ["urban", "rural", "urban", "suburban"]
    for group in study.panel.groups.order_by("order"):
        size = 2 if group.code == "peer" else 4
        for j in range(size):
            p = f.make_panelist(
                study,
                group=group,
                email=f"{group.code}{j}@example.org",
                years_experience=3 + j * 4,
                setting=settings[j % 4],
                lived_experience=j == 0,
                consented_at=timezone.now() - timedelta(days=10),
                consent_version=1,
            )
            Invitation.objects.create(
                panelist=p,
                token_hash=f"{group.code}-{j}".ljust(64, "0"),
                status=Invitation.Status.SENT,
                sent_at=timezone.now() - timedelta(days=10),
                expires_at=timezone.now() + timedelta(days=30),
            )
            panelists.append(p)
    r1 = f.make_round(study, number=1, statements=statements, title="Round 1")
    _rate_round(r1, panelists, rng)
    r1_items = list(r1.items.order_by("order"))
    response = Response.objects.get(round=r1, panelist=panelists[0])
    Rating.objects.filter(response=response, item=r1_items[2]).update(comment=FORMULA_COMMENT)
    Rating.objects.filter(response=response, item=r1_items[3]).update(comment=SPACED_FORMULA)
    Rating.objects.filter(
        response=Response.objects.get(round=r1, panelist=panelists[1]), item=r1_items[2]
    ).update(comment="Depends on the setting.")
    Suggestion.objects.create(
        round=r1, response=response, domain=domain, text="Knows the local crisis lines."
    )
    _close(r1)
    run1 = services.consensus_compute_now(round=r1)
    assert run1.status == "done", run1.error
    r2 = services.round_create_next(round=r1, by=researcher)
    r2_items = list(r2.items.order_by("order").select_related("statement"))
    # Reword the first carried item, drop the last one.
    reworded = item_reword(
        item=r2_items[0], by=researcher, code=r2_items[0].statement.code + "r",
        text="Uses calm, plain words.", reason="Panelists found it too long.",
    )  # fmt: skip
    item_drop(item=r2_items[-1], by=researcher, reason="Overlaps with another item.")
    Round.objects.filter(pk=r2.pk).update(status=Round.Status.OPEN, opened_at=timezone.now())
    _rate_round(r2, panelists, rng, shift=1)
    r2_response = Response.objects.get(round=r2, panelist=panelists[2])
    Rating.objects.filter(response=r2_response).update(change_reason="Read the others' comments.")
    _close(r2)
    run2 = services.consensus_compute_now(round=r2)
    assert run2.status == "done", run2.error
    study.refresh_from_db()
    return SimpleNamespace(
        study=study, r1=r1, r2=r2, panelists=panelists, statements=statements,
        reworded=reworded, dropped=r2_items[-1].statement,
    )  # fmt: skip
