"""A small open round with every kind of answer, for the quorum and participation stories."""

import secrets
from datetime import timedelta

from django.utils import timezone

from delphi.models import Round
from delphi.services.rounds import round_open
from panels.models import Invitation, Panelist
from tests import factories as f


def open_round(study, researcher, *, n_items=2, number=1, days_ago=10):
    """An open rating round that opened ``days_ago`` days ago (so its mail lies in the past)."""
    statements = [f.make_statement(study) for _ in range(n_items)]
    rnd = f.make_round(study, number=number, statements=statements)
    round_open(round=rnd, by=researcher)
    Round.objects.filter(pk=rnd.pk).update(opened_at=timezone.now() - timedelta(days=days_ago))
    rnd.refresh_from_db()
    return rnd


def invite(panelist, rnd, *, opened=True, at=None):
    at = at or (rnd.opened_at + timedelta(minutes=5))
    invitation = Invitation.objects.create(
        panelist=panelist,
        token_hash=secrets.token_hex(32),
        status=Invitation.Status.SENT,
        sent_at=at,
        opened_at=at + timedelta(hours=1) if opened else None,
        expires_at=at + timedelta(days=60),
    )
    # created_at is auto_now_add: move it to when the round's mailing went out.
    Invitation.objects.filter(pk=invitation.pk).update(created_at=at)
    return invitation


def consent(panelist, at=None):
    Panelist.objects.filter(pk=panelist.pk).update(
        consented_at=at or timezone.now(), consent_version=1
    )


def answer(panelist, rnd, how: str):
    """how: submitted, complete (a draft with every item), partial (one item), none."""
    items = list(rnd.items.all())
    if how == "submitted":
        return f.rate(panelist, rnd, {i: 7 for i in items})
    if how == "complete":
        return f.rate(panelist, rnd, {items[0]: 8, **{i: None for i in items[1:]}}, submitted=False)
    if how == "partial":
        return f.rate(panelist, rnd, {items[0]: 5}, submitted=False)
    return None


PLAN = {
    # group: the answer of each of its panelists
    "law": ["submitted", "submitted", "submitted", "complete"],
    "clinical": ["submitted", "complete", "partial", "none"],
    "dispatch": ["none", "partial"],
}


def populate(study, rnd, plan=PLAN):
    """Panelists per the plan, all invited and consented; returns {group: [panelist]}."""
    out = {}
    for code, answers in plan.items():
        group = study.panel.groups.get(code=code)
        out[code] = []
        for how in answers:
            p = f.make_panelist(study, group=group)
            invite(p, rnd, opened=how != "none")
            if how != "none":
                consent(p, rnd.opened_at + timedelta(minutes=30))
            answer(p, rnd, how)
            out[code].append(p)
    return out


def open_rounds(study):
    return Round.objects.filter(study=study, status=Round.Status.OPEN)
