"""Demo panelists who joined late and have not consented yet.

Everyone in the simulated panel consented in round 1, so without these a newcomer trying the
demo would never see the consent and profile pages. `make run` prints a fresh personal link for
one of them (``manage.py demo_link``). They are real-looking recruits, not simulated answers:
they have no ratings until someone answers through their link.
"""

from datetime import timedelta

from django.utils import timezone

from delphi.models import Study
from panels.models import Contact, Panelist

# (name, e-mail, organisation, group code, language)
NEWCOMERS = [
    ("Jordan Ellis", "jordan.ellis.new@example.org", "Riverside Crisis Line", "peer", "en"),
    ("Lucía Romero", "lucia.romero.new@example.org", "Clínica del Valle", "clinical", "es"),
    ("Sam Okafor", "sam.okafor.new@example.org", "County 911 Communications", "dispatch", "en"),
]  # fmt: skip
JOINED_DAYS_AGO = 3


def demo_newcomers_build(study: Study, groups: dict) -> list[Panelist]:
    """Add the late recruits: in a group, with contact details, no consent, no profile."""
    joined = timezone.now() - timedelta(days=JOINED_DAYS_AGO)
    panelists = Panelist.objects.bulk_create(
        Panelist(panel_id=study.panel_id, group=groups[group], language=language)
        for _, _, _, group, language in NEWCOMERS
    )
    Panelist.objects.filter(pk__in=[p.pk for p in panelists]).update(created_at=joined)
    Contact.objects.bulk_create(
        Contact(panelist=p, panel_id=study.panel_id, name=name, email=email, organisation=org)
        for p, (name, email, org, _, _) in zip(panelists, NEWCOMERS, strict=True)
    )
    return panelists


def demo_newcomer(study: Study) -> Panelist | None:
    """A late recruit who has not consented yet (the first by id), else None."""
    emails = [row[1] for row in NEWCOMERS]
    return (
        Panelist.objects.filter(
            panel_id=study.panel_id,
            contact__email__in=emails,
            consented_at__isnull=True,
            status=Panelist.Status.ACTIVE,
        )
        .order_by("id")
        .first()
    )
