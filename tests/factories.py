"""Plain factories: small functions that build valid rows, so a test reads like a story."""

import itertools

from django.contrib.auth import get_user_model

from competencies.models import Domain, Framework, Scenario, Statement
from delphi.models import Membership, Rating, Response, Round, RoundItem, Study
from panels.models import Contact, Panel, Panelist, StakeholderGroup

_seq = itertools.count(1)


def make_user(username=None, *, password="pw-for-tests-123", **extra):
    username = username or f"user{next(_seq)}"
    return get_user_model().objects.create_user(username, password=password, **extra)


def make_study(
    *,
    title="Core competencies of crisis responders",
    researcher=None,
    analyst=None,
    groups=("law", "clinical", "dispatch"),
    **fields,
):
    panel = Panel.objects.create(name=f"{title} panel")
    for i, code in enumerate(groups):
        StakeholderGroup.objects.create(
            panel=panel, code=code, name=code.title(), order=i, target_size=10
        )
    framework = Framework.objects.create(name=f"{title} framework")
    study = Study.objects.create(
        title=title,
        panel=panel,
        framework=framework,
        consent_text="I agree to take part.",
        **fields,
    )
    if researcher:
        Membership.objects.create(study=study, user=researcher, role=Membership.Role.RESEARCHER)
    if analyst:
        Membership.objects.create(study=study, user=analyst, role=Membership.Role.ANALYST)
    return study


def make_domain(study, *, code=None, name="Communication and de-escalation", order=0):
    code = code or f"D{next(_seq)}"
    return Domain.objects.create(framework=study.framework, code=code, name=name, order=order)


def make_statement(study, *, domain=None, code=None, text=None, **fields):
    domain = (
        domain or Domain.objects.filter(framework=study.framework).first() or make_domain(study)
    )
    n = next(_seq)
    return Statement.objects.create(
        framework=study.framework,
        domain=domain,
        code=code or f"S{n}",
        text=text or f"Uses calm, plain language to de-escalate a crisis ({n}).",
        **fields,
    )


def make_scenario(study, *, code=None, risk_level="low", **fields):
    n = next(_seq)
    fields.setdefault("title", f"Scenario {n}")
    fields.setdefault("vignette", "A neighbour calls 911 about a man shouting in the street.")
    return Scenario.objects.create(
        framework=study.framework, code=code or f"SC{n}", risk_level=risk_level, **fields
    )


def make_panelist(study, *, group=None, email=None, **fields):
    group = group or study.panel.groups.first()
    panelist = Panelist.objects.create(panel=study.panel, group=group, **fields)
    Contact.objects.create(
        panelist=panelist, panel=study.panel, email=email or f"panelist{next(_seq)}@example.org"
    )
    return panelist


def make_round(study, *, number=1, kind=Round.Kind.RATING, statements=(), **fields):
    rnd = Round.objects.create(study=study, number=number, kind=kind, **fields)
    for i, statement in enumerate(statements):
        RoundItem.objects.create(round=rnd, statement=statement, order=i)
    return rnd


def rate(panelist, rnd, values, *, submitted=True):
    """values: {RoundItem: int or None (unable)}."""
    from django.utils import timezone

    response, _ = Response.objects.get_or_create(round=rnd, panelist=panelist)
    for item, value in values.items():
        Rating.objects.update_or_create(
            response=response,
            item=item,
            defaults={"value": value, "unable": value is None},
        )
    if submitted:
        response.status = Response.Status.SUBMITTED
        response.submitted_at = timezone.now()
        response.save()
    return response
