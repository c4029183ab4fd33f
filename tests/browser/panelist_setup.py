"""Builds the study the panelist browser tests walk through (ORM only, no server)."""

from django.utils import timezone

from delphi.models import Round, RoundItem
from panels.models import Panelist
from tests import factories as f
from tests.delphi.panelist.conftest import make_link

STATEMENTS = [
    # (domain, text, Spanish text, plain text)
    (0, "Uses calm, plain language to de-escalate a person in crisis.",
     "Usa un lenguaje calmado y sencillo para desescalar a una persona en crisis.",
     "Talks in a calm, simple way to help someone settle."),
    (0, "Recognises signs that a person may harm themselves or others.",
     "Reconoce señales de que una persona puede hacerse daño o hacer daño a otros.", ""),
    (0, "Listens without judging and reflects back what the person says.",
     "Escucha sin juzgar y devuelve lo que la persona dice.", ""),
    (1, "Knows which local services can take a referral at night.",
     "Sabe qué servicios locales aceptan derivaciones por la noche.", ""),
    (1, "Hands over to the receiving service with a clear, brief summary.",
     "Entrega el caso al servicio receptor con un resumen claro y breve.", ""),
]  # fmt: skip


def build_study(*, groups=("law", "clinical", "dispatch")):
    study = f.make_study(
        title="Core competencies of community behavioral-health crisis responders",
        short_title="CBHCR competencies",
        groups=groups,
        contact_email="team@example.org",
        consent_text_es=(
            "Este estudio pregunta a personas expertas qué competencias necesitan quienes "
            "responden a crisis.\n\nSus respuestas son confidenciales."
        ),
    )
    # The factory sets a one-line consent text; the real study has a longer one.
    study.consent_text = (
        "This study asks experts which competencies crisis responders need.\n\n"
        "Your answers are confidential. Taking part takes about 20 minutes a round."
    )
    study.save()
    for group, es in zip(study.panel.groups.all(), ("Policía", "Clínico", "Centro 911")):
        group.name_es = es
        group.save()
    domains = [
        f.make_domain(study, name="Communication and de-escalation", order=0),
        f.make_domain(study, name="Coordination and referral", order=1),
    ]
    domains[0].name_es = "Comunicación y desescalada"
    domains[1].name_es = "Coordinación y derivación"
    for d in domains:
        d.save()
    scenario = f.make_scenario(
        study,
        title="A man shouting in the street",
        title_es="Un hombre gritando en la calle",
        vignette="A neighbour calls 911: a man is shouting at passing cars and seems confused.",
        vignette_es="Una vecina llama al 911: un hombre grita a los coches y parece confundido.",
    )
    rnd = Round.objects.create(
        study=study,
        number=1,
        status=Round.Status.OPEN,
        opened_at=timezone.now(),
        instructions="Rate how important each competency is for a crisis responder.",
        instructions_es="Puntúe la importancia de cada competencia para quien responde a crisis.",
    )
    for i, (d, text, text_es, plain) in enumerate(STATEMENTS):
        statement = f.make_statement(
            study, domain=domains[d], text=text, text_es=text_es, plain_text=plain, order=i
        )
        RoundItem.objects.create(
            round=rnd, statement=statement, order=i, scenario=scenario if i == 0 else None
        )
    return study, rnd


def new_panelist(study, *, language="en", consented=False, group_index=0):
    group = list(study.panel.groups.all())[group_index]
    panelist = f.make_panelist(study, group=group, language=language)
    if consented:
        now = timezone.now()
        Panelist.objects.filter(pk=panelist.pk).update(
            consented_at=now, consent_version=1, profile_confirmed_at=now
        )
    return panelist, make_link(panelist)
