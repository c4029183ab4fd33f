"""The demo's item-generation round, its coding, and the suggestions made in the rating round.

The study opens, as the researchers' plan does, with an open-ended round: for each of the three
scenarios, and once in general, "what must the responder be able to do?". The answers below
are written from the panel themes in the researchers' slides, in each stakeholder group's
voice, some in Spanish from the Spanish-speaking panelists, a few not usable. The research
team then coded them through the coding services (delphi/services/coding.py): most support a
statement the team had drafted from the expert-panel themes, three became new statements, one
answer supports two statements, several are coded by a fragment, and three are left in the
queue for a newcomer to code. "Start the first rating round" (round_start_rating) then drafted
the rating round with the coded statements pre-selected, and the team added the rest.

During the rating round a few panelists suggested statements; after it closed the team adopted
one, merged one into an existing statement and declined one, each with its reason
(delphi/services/review.py), and left one undecided. The answers and suggestions are what a
panel types in the browser, so they are written directly; every coding decision goes through
the services a researcher's clicks do.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import NamedTuple

from competencies.models import Domain, Statement
from delphi.demo.statements import STATEMENTS
from delphi.models import AnswerCode, ItemChange, PromptAnswer, Response, Round, Suggestion
from panels.models import Panelist

GENERATION_TITLE = "What must a crisis responder be able to do?"
GENERATION_INSTRUCTIONS = (
    "Read each scenario and write, in your own words, what the person responding must be able "
    "to do. There are no right answers: short notes, lists and examples from your own work are "
    "all welcome. The study team will turn your answers into statements for the panel to rate "
    "in the next round."
)
GENERATION_INSTRUCTIONS_ES = (
    "Lea cada escenario y escriba, con sus propias palabras, qué debe saber hacer la persona "
    "que responde. No hay respuestas correctas: notas breves, listas y ejemplos de su propio "
    "trabajo son bienvenidos. El equipo del estudio convertirá sus respuestas en enunciados "
    "que el panel puntuará en la siguiente ronda."
)
GENERAL_PROMPT = (
    "Beyond these scenarios: what else must a community crisis responder be able to do?"
)
GENERAL_PROMPT_ES = (
    "Más allá de estos escenarios: ¿qué más debe saber hacer quien responde a una crisis en la "
    "comunidad?"
)

# The statements the team had not drafted from the expert-panel themes: the open-ended answers
# brought them in, so they are created from the answers (provenance "panelist open-ended
# answer"). Each is the last of its domain, so it keeps its place in the framework.
NEW_FROM_ANSWERS = ("ENG-5", "RES-5", "FAM-6")

UNUSABLE = "-"  # in ``Answer.codes``: the answer is marked not usable, with the reason given


class Answer(NamedTuple):
    group: str
    language: str
    prompt: str  # a scenario code, or "GEN" for the general question
    text: str
    # (statement code, fragment) pairs, "" = the whole answer; or ((UNUSABLE, reason),);
    # or () = not coded yet.
    codes: tuple[tuple[str, str], ...]
    draft: bool = False  # the panelist never pressed "submit"


A = Answer
ANSWERS = [
    # SC1 (lower risk): a son who has not slept for three nights.
    A("family", "en", "SC1",
      "Talk to the mother first, calmly, and find out what is different about her son this week "
      "and what has helped before. She knows him best.",
      (("FAM-1", ""),)),
    A("clinical", "en", "SC1",
      "Recognise that three nights without sleep can be the start of mania or psychosis, and "
      "ask about medication, drugs and any medical cause before assuming it is just stress.",
      (("SYM-1", "Recognise that three nights without sleep can be the start of mania or "
                 "psychosis"),
       ("SYM-2", "ask about medication, drugs and any medical cause before assuming it is just "
                 "stress"))),
    A("peer", "en", "SC1",
      "Sit down, slow everything down and just listen. Don't fire a checklist at him. Ask him "
      "what he needs tonight.",
      (("COM-1", ""),)),
    A("dispatch", "en", "SC1",
      "Before sending anyone, the call-taker should find out whether there are weapons in the "
      "house and whether anyone has been hurt, so a clinician team can go instead of a patrol "
      "car.",
      (("TRI-2", ""),)),
    A("law", "en", "SC1",
      "Check the scene on arrival even when the call sounds low risk: who else is in the house, "
      "where the exits are, any weapons.",
      (("SAF-1", ""),)),
    A("family", "en", "SC1",
      "Explain to the family what is going to happen and what they can do, and give them a "
      "number to call if it gets worse at 3 a.m.",
      (("FAM-2", ""),)),
    A("clinical", "en", "SC1",
      "Leave with a written plan: who he can call, what to do if he still can't sleep. And a "
      "follow-up visit in the next day or two, not 'call us if you need us'.",
      (("RES-3", "Leave with a written plan: who he can call, what to do if he still can't "
                 "sleep."),
       ("RES-4", "a follow-up visit in the next day or two"))),
    A("peer", "en", "SC1",
      "Introduce yourself by name, not by title, and ask what he wants to be called. Respect "
      "goes a long way.",
      (("ENG-1", ""),)),
    A("family", "es", "SC1",
      "Hablar con la familia con calma y explicarles qué va a pasar. Muchas veces los padres "
      "tienen miedo de que se lleven a su hijo a la cárcel.",
      (("FAM-2", ""),)),
    A("dispatch", "en", "SC1",
      "Know which mobile crisis team is on tonight and how long they will take, so the family "
      "isn't left waiting without information.",
      (("RES-2", ""),)),
    A("clinical", "en", "SC1",
      "Don't overwhelm him with questions. Someone who hasn't slept can't take in much, so keep "
      "it short and check he understood.",
      (("SYM-4", ""),)),
    A("family", "en", "SC1", "idk",
      ((UNUSABLE, "No content to code."),)),
    # SC2 (moderate risk): a young man in a park, thoughts of suicide, intoxicated, family there.
    A("clinical", "en", "SC2",
      "Ask him directly whether he is thinking about killing himself and whether he has a plan "
      "or the means with him. Asking does not put the idea in his head.",
      (("RSK-1", ""),)),
    A("peer", "en", "SC2",
      "Ask straight out about suicide, in plain words, and stay with him. When I was in that "
      "place, the people who helped were the ones who weren't scared to ask.",
      (("RSK-1", "Ask straight out about suicide, in plain words, and stay with him."),
       ("LIV-1", "When I was in that place, the people who helped were the ones who weren't "
                 "scared to ask."))),
    A("law", "en", "SC2",
      "Find out what he has taken and how much, and get medics there if he is very "
      "intoxicated. Intoxication changes everything about the risk.",
      (("SYM-2", "get medics there if he is very intoxicated"),)),
    A("family", "en", "SC2",
      "If the family is making him more upset, ask them kindly to step back a little and give "
      "someone the job of talking with them.",
      (("FAM-5", ""),)),
    A("family", "en", "SC2",
      "Take the mother aside and ask what happened today and whether this has happened before. "
      "Families have the history nobody else has.",
      (("FAM-1", ""),)),
    A("clinical", "en", "SC2",
      "Work out what set this off today and what has helped him get through before, and build "
      "on that.",
      (("RSK-3", ""),)),
    A("peer", "en", "SC2",
      "Tell him it can get better. Not in a fake way: say you have seen people come through "
      "this.",
      (("LIV-4", ""),)),
    A("dispatch", "es", "SC2",
      "Preguntar desde la primera llamada si tiene armas, si ha tomado alcohol o drogas y si "
      "está herido, para decidir si puede ir un equipo sin policía.",
      (("TRI-2", ""),)),
    A("law", "en", "SC2",
      "Stay calm and keep your voice low. Short sentences. He's drunk and scared; he won't "
      "follow a speech.",
      (("COM-2", ""),)),
    A("clinical", "en", "SC2",
      "Do a proper suicide risk screen (we use the C-SSRS) and write down the result so the next "
      "service doesn't start from zero.",
      (("RSK-4", ""),)),
    A("peer", "en", "SC2",
      "Don't leave him with just a phone number. Walk him to the crisis centre or stay until "
      "the follow-up team takes over.",
      (("RES-1", ""),)),
    A("family", "es", "SC2",
      "Que no lo traten como a un criminal. Mi hijo estaba borracho y triste, no era peligroso, "
      "y lo esposaron delante de todos.",
      (("EMP-2", "Que no lo traten como a un criminal."),)),
    A("law", "en", "SC2", "Not sure what the question is asking, sorry.",
      ((UNUSABLE, "Does not answer the question."),), draft=True),
    A("dispatch", "en", "SC2",
      "Give the team everything we have before they arrive: where he is in the park, what he's "
      "taken, who is with him. And update them if it changes.",
      (("TRI-5", ""),)),
    A("clinical", "en", "SC2",
      "Let him make small choices, like where to sit or whether his brother stays. It gives "
      "back a bit of control.",
      (("COM-4", ""),)),
    A("law", "en", "SC2",
      "Keep your voice down and your hands visible. Talk slowly.",
      (("COM-2", ""),)),
    # SC3 (high risk): a man with psychosis and a kitchen knife, barricaded in his apartment.
    A("law", "en", "SC3",
      "This one needs police on scene. The responder has to know when to call us, and how to "
      "work with us without either side getting in the other's way.",
      (("SAF-2", "The responder has to know when to call us"),
       ("SAF-3", "how to work with us without either side getting in the other's way"))),
    A("law", "en", "SC3",
      "Agree roles before anyone knocks on the door: who talks, who covers, when we go in.",
      (("SAF-3", ""),)),
    A("clinical", "en", "SC3",
      "Keep talking to him through the door. Don't rush it; time is on your side if nobody else "
      "is inside.",
      (("COM-5", ""),)),
    A("peer", "en", "SC3",
      "Know the signs of psychosis so you don't take what he says as a threat when it's fear "
      "talking.",
      (("SYM-1", ""),)),
    A("clinical", "en", "SC3",
      "Watch for rising agitation (pacing, a louder voice, clenched fists) and back off before "
      "it tips over.",
      (("COM-3", ""),)),
    A("law", "en", "SC3",
      "Be able to get out safely if he comes at you. Basic disengagement, not fighting.",
      (("SAF-4", ""),)),
    A("family", "en", "SC3",
      "Remember he may have been hurt by police before. Don't crowd the door with uniforms.",
      (("ENG-4", "Remember he may have been hurt by police before."),)),
    A("dispatch", "en", "SC3",
      "Keep the caller on the line, keep them calm and out of the apartment until the team is "
      "there.",
      (("TRI-3", ""),)),
    A("clinical", "en", "SC3",
      "Assess whether he is a danger to others: has he threatened anyone, has he used the knife "
      "before, any history of violence.",
      (("RSK-2", ""),)),
    A("peer", "es", "SC3",
      "Hablarle con respeto aunque diga cosas que no tienen sentido. La persona siente cuando "
      "la tratan como un caso.",
      (("EMP-2", ""),)),
    A("law", "en", "SC3",
      "Debrief with us afterwards so next time goes better. We rarely hear how these calls end.",
      (("SAF-5", ""),)),
    A("law", "en", "SC3",
      "Honestly, in this one somebody may have to restrain him to get him to hospital, and the "
      "responder should be trained for it.",
      (("SAF-6", ""),)),
    A("family", "en", "SC3",
      "N/A. We would never call 911 for my brother again after last time.",
      ((UNUSABLE, "Describes a past experience, not a competency; passed to the team as "
                  "context for the family-engagement domain."),)),
    A("dispatch", "en", "SC3",
      "Send the team and police together but let the clinician lead once it's safe.",
      (("SAF-3", ""),)),
    A("family", "en", "SC3",
      "Don't take him to hospital in the back of a police car. There should be a way to get "
      "people there that doesn't feel like an arrest.",
      ()),
    A("peer", "en", "SC3",
      "Arrange transport that isn't a squad car. Being driven to the ER in cuffs is traumatic "
      "on its own.",
      ()),
    A("clinical", "es", "SC3",
      "Que el traslado al hospital no sea en patrulla si no hay riesgo: eso asusta y humilla.",
      ()),
    # The general question.
    A("peer", "en", "GEN",
      "Hire people who come from the neighbourhood and speak the languages people speak there. "
      "They know the informal supports: the church, the corner store owner.",
      (("LIV-3", ""),)),
    A("clinical", "es", "GEN",
      "Saber trabajar con intérpretes profesionales. No se debe usar a los hijos para traducir a "
      "sus padres en crisis.",
      (("ENG-5", ""),)),
    A("family", "es", "GEN",
      "Que hablen español o que traigan a un intérprete de verdad. Mi madre no entendió nada de "
      "lo que le dijeron.",
      (("ENG-5", ""),)),
    A("dispatch", "en", "GEN",
      "Get an interpreter on the line early; a neighbour translating is not good enough.",
      (("ENG-5", ""),)),
    A("peer", "en", "GEN",
      "Ask about food, a place to sleep, medication. Half the crises I see start with losing "
      "housing or running out of meds.",
      (("RES-5", ""),)),
    A("family", "en", "GEN",
      "Help with the practical stuff. A ride to the pharmacy or a bed for the night can prevent "
      "the next call.",
      (("RES-5", ""),)),
    A("family", "en", "GEN",
      "Families need support too. Point us to a family group or NAMI; we were on our own for "
      "years.",
      (("FAM-6", ""),)),
    A("family", "es", "GEN",
      "Los familiares también necesitamos apoyo: un grupo de familias, alguien con quien hablar "
      "después de la crisis.",
      (("FAM-6", ""),)),
    A("peer", "en", "GEN",
      "Know when to share your own story and when to keep it to yourself. It is about them, not "
      "you.",
      (("LIV-2", ""),)),
    A("clinical", "en", "GEN",
      "Look after yourself and use supervision after hard calls. Burnt-out responders make "
      "mistakes.",
      (("EMP-4", ""),)),
    A("law", "en", "GEN",
      "Stay patient when people yell at you. It's not personal.",
      (("EMP-3", ""),)),
    A("peer", "en", "GEN",
      "Check your own assumptions about people who are homeless or using. They're people first.",
      (("EMP-5", ""),)),
    A("clinical", "en", "GEN",
      "Respect privacy: don't tell the family everything without asking the person first. "
      "Adults have rights.",
      (("FAM-3", ""),)),
    A("dispatch", "en", "GEN",
      "Recognise a mental-health call even when it comes in as 'suspicious person' or "
      "'disturbance'. Most of ours are coded wrong.",
      (("TRI-1", ""),)),
    A("dispatch", "en", "GEN",
      "Know when to send the call to 988 instead of a unit.",
      (("TRI-4", ""),)),
    A("law", "es", "GEN",
      "Trabajar en equipo con paramédicos, clínicos y pares, sin que nadie se crea más que otro.",
      (("LIV-5", ""),)),
    A("dispatch", "en", "GEN", "test",
      ((UNUSABLE, "A test entry, not an answer."),), draft=True),
    A("peer", "en", "GEN",
      "Bring the family in on the safety plan when he says it's OK.",
      (("FAM-4", ""),)),
    A("clinical", "en", "GEN",
      "They need a master's degree and a licence, full stop. This is clinical work.",
      (("LIV-6", ""),)),
    A("clinical", "en", "GEN",
      "Show that you actually care. People can tell when you are going through the motions.",
      (("EMP-1", ""),)),
    A("clinical", "en", "GEN",
      "Use plain words to explain what happens next and what his options are, and don't "
      "promise what you can't deliver.",
      (("ENG-3", ""),)),
    A("peer", "en", "GEN",
      "Don't touch without asking, no sudden moves, no shouting. A lot of people in crisis have "
      "been through trauma.",
      (("SYM-3", ""),)),
    A("clinical", "en", "GEN",
      "Be able to tell autism or dementia apart from psychosis, and change how you talk.",
      (("SYM-5", ""),)),
    A("family", "en", "GEN",
      "Be kind, don't rush, and listen to what he is actually saying.",
      (("EMP-1", "Be kind"), ("COM-1", "listen to what he is actually saying"))),
    A("law", "en", "GEN",
      "Keep calm and stay calm.",
      (("COM-2", ""),)),
]  # fmt: skip


class DemoSuggestion(NamedTuple):
    group: str
    language: str
    domain: str
    text: str
    rationale: str
    # ("adopt", code, reason, plain, text_es, plain_es) / ("merge", code, reason) /
    # ("decline", reason) / () left undecided
    decision: tuple


SUGGESTIONS = [
    DemoSuggestion(
        "family", "en", "ENG",
        "The responder can explain to the person their rights, including what an involuntary "
        "hold means and how to reach an advocate.",
        "Nobody told my son what was happening to him legally. Knowing your rights takes away "
        "some of the fear.",
        ("adopt", "ENG-6",
         "Adopted: no statement covers telling people their rights, and a responder who can do "
         "it takes away some of the fear a hold brings.",
         "Explains the person's rights, such as what a hold means and how to reach an advocate.",
         "Quien responde a la crisis puede explicar a la persona sus derechos, incluido lo que "
         "significa una retención involuntaria y cómo contactar con un defensor.",
         "Explica los derechos de la persona, como qué es una retención y cómo contactar con un "
         "defensor."),
    ),
    DemoSuggestion(
        "peer", "en", "COM",
        "Responders should be able to talk someone down through a closed door without forcing "
        "entry.",
        "Forcing the door is when people get hurt.",
        ("merge", "COM-5",
         "Merged: COM-5 already asks for keeping a conversation going through a closed door; "
         "the suggestion is kept as a source of COM-5."),
    ),
    DemoSuggestion(
        "law", "en", "SAF",
        "Responders should carry a firearm on high-risk calls.",
        "Officer safety. We cannot always get there in time.",
        ("decline",
         "Declined: the study defines a non-police response; whether responders are armed is a "
         "program policy, not a competency, and the team will report it as a key issue."),
    ),
    DemoSuggestion(
        "clinical", "es", "RES",
        "Saber cuándo pedir una evaluación médica a domicilio en lugar de llevar a la persona a "
        "urgencias.",
        "Muchas visitas a urgencias se podrían evitar.",
        (),
    ),
]  # fmt: skip


def _assign(items, panelists: list[Panelist], key) -> list[Panelist]:
    """Give each entry a panelist of its group and language, spreading them over the group and
    never giving one panelist two answers to the same prompt."""
    pools: dict[tuple[str, str], list[Panelist]] = defaultdict(list)
    for p in panelists:
        pools[(p.group.code, p.language)].append(p)
    load: dict[int, set] = defaultdict(set)
    chosen = []
    for entry in items:
        pool = [p for p in pools[(entry.group, entry.language)] if key(entry) not in load[p.pk]]
        if not pool:
            raise ValueError(f"No {entry.language} panelist in {entry.group} left for {entry}.")
        p = min(pool, key=lambda p: len(load[p.pk]))
        load[p.pk].add(key(entry))
        chosen.append(p)
    return chosen


def build_generation_round(*, study, researcher, panelists, opened_at, closed_at) -> Round:
    """Create, open, answer and close the item-generation round (round 1)."""
    from delphi.services.rounds import round_close, round_create, round_open, round_prompt_add

    rnd = round_create(
        study=study,
        kind=Round.Kind.GENERATION,
        by=researcher,
        title=GENERATION_TITLE,
        instructions=GENERATION_INSTRUCTIONS,
        instructions_es=GENERATION_INSTRUCTIONS_ES,
        opens_at=opened_at,
        closes_at=closed_at,
    )
    # round_create asked one question per scenario; add the general one.
    round_prompt_add(round=rnd, by=researcher, text=GENERAL_PROMPT, text_es=GENERAL_PROMPT_ES)
    round_open(round=rnd, by=researcher)

    prompts = {p.scenario.code if p.scenario_id else "GEN": p for p in rnd.prompts.all()}
    consented = [p for p in panelists if p.consented_at is not None]
    authors = _assign(ANSWERS, consented, key=lambda a: a.prompt)
    window = (closed_at - opened_at).total_seconds()
    responses: dict[int, Response] = {}
    for i, (answer, p) in enumerate(zip(ANSWERS, authors, strict=True)):
        r = responses.get(p.pk)
        if r is None:
            when = opened_at + timedelta(seconds=window * (0.05 + 0.9 * ((i * 29 % 67) / 67) ** 2))
            when = max(when, p.consented_at + timedelta(hours=1))
            r = responses[p.pk] = Response(
                round=rnd,
                panelist=p,
                status=Response.Status.SUBMITTED,
                submitted_at=when,
                started_at=when - timedelta(minutes=25),
            )
        if answer.draft:
            r.status, r.submitted_at = Response.Status.DRAFT, None
    Response.objects.bulk_create(responses.values())
    rows = PromptAnswer.objects.bulk_create(
        PromptAnswer(response=responses[p.pk], prompt=prompts[a.prompt], text=a.text)
        for a, p in zip(ANSWERS, authors, strict=True)
    )
    # bulk_create stamps auto_now_add with the present; date the answers inside the round.
    Response.objects.bulk_update(responses.values(), ["started_at"])

    round_close(round=rnd, by=researcher)
    Round.objects.filter(pk=rnd.pk).update(opened_at=opened_at, closed_at=closed_at)
    rnd.refresh_from_db()
    rnd.demo_answer_rows = rows  # for code_generation_round, in ANSWERS order
    return rnd


def code_generation_round(*, study, rnd: Round, researcher, coded_at) -> None:
    """Code the answers through the coding services, as the team did after the round closed."""
    from delphi.services.coding import (
        coding_create_statement,
        coding_link,
        coding_mark_unusable,
    )

    links: dict[str, list[tuple[str, str]]] = defaultdict(list)
    unusable: dict[str, list[str]] = defaultdict(list)
    for answer, row in zip(ANSWERS, rnd.demo_answer_rows, strict=True):
        for code, detail in answer.codes:
            if code == UNUSABLE:
                unusable[detail].append(f"a{row.pk}")
            else:
                links[code].append((f"a{row.pk}", detail))

    framework = study.framework_id
    statements = {s.code: s for s in Statement.objects.filter(framework_id=framework)}
    domains = {d.code: d for d in Domain.objects.filter(framework_id=framework)}
    by_code = {s.code: s for s in STATEMENTS}
    # In the framework's order, so the new statements keep the places they have in STATEMENTS.
    for s in STATEMENTS:
        if s.code not in links:
            continue
        keys = [k for k, _ in links[s.code]]
        fragments = {k: f for k, f in links[s.code] if f}
        if s.code in NEW_FROM_ANSWERS:
            d = by_code[s.code]
            coding_create_statement(
                study=study,
                by=researcher,
                keys=keys,
                domain=domains[d.domain],
                code=d.code,
                text=d.text,
                plain_text=d.plain,
                text_es=d.text_es,
                plain_text_es=d.plain_es,
                fragments=fragments,
            )
        else:
            coding_link(
                study=study,
                by=researcher,
                keys=keys,
                statement=statements[s.code],
                fragments=fragments,
            )
    for reason, keys in unusable.items():
        coding_mark_unusable(study=study, by=researcher, keys=keys, reason=reason)
    # The coding took the team the week after the round closed (created_at stamps the present).
    codes = list(AnswerCode.objects.filter(round=rnd).order_by("pk"))
    for i, c in enumerate(codes):
        c.created_at = coded_at + timedelta(minutes=11 * i)
    AnswerCode.objects.bulk_update(codes, ["created_at"])


def build_suggestions(*, rating_round: Round, opened_at, closed_at) -> list[Suggestion]:
    """What panelists typed into "suggest a statement" during the rating round."""
    responses = list(
        Response.objects.filter(
            round=rating_round,
            status=Response.Status.SUBMITTED,
            panelist__status=Panelist.Status.ACTIVE,
        )
        .select_related("panelist__group")
        .order_by("panelist_id")
    )
    authors = _assign(SUGGESTIONS, [r.panelist for r in responses], key=lambda s: s.text)
    response_of = {r.panelist_id: r for r in responses}
    domains = {
        d.code: d for d in Domain.objects.filter(framework_id=rating_round.study.framework_id)
    }
    rows = Suggestion.objects.bulk_create(
        Suggestion(
            round=rating_round,
            response=response_of[p.pk],
            domain=domains[s.domain],
            text=s.text,
            rationale=s.rationale,
        )
        for s, p in zip(SUGGESTIONS, authors, strict=True)
    )
    window = (closed_at - opened_at).total_seconds()
    for i, row in enumerate(rows):
        row.created_at = opened_at + timedelta(seconds=window * (0.1 + 0.2 * i))
    Suggestion.objects.bulk_update(rows, ["created_at"])
    return rows


def decide_suggestions(*, study, rows: list[Suggestion], researcher, decided_at) -> None:
    """Adopt, merge and decline through the review services (each joins the coding queue)."""
    from competencies.services import statement_update
    from delphi.services.review import suggestion_adopt, suggestion_decline, suggestion_merge

    statements = {s.code: s for s in Statement.objects.filter(framework_id=study.framework_id)}
    last_change = (
        ItemChange.objects.filter(study=study).order_by("-pk").values_list("pk", flat=True).first()
        or 0
    )
    for s, row in zip(SUGGESTIONS, rows, strict=True):
        if not s.decision:
            continue
        kind = s.decision[0]
        if kind == "adopt":
            _, code, reason, plain, text_es, plain_es = s.decision
            new = suggestion_adopt(
                suggestion=row,
                by=researcher,
                code=code,
                domain=row.domain,
                text=s.text,
                reason=reason,
                plain_text=plain,
            )
            # The Spanish wording, added on the framework page as for every statement.
            statement_update(statement=new, text_es=text_es, plain_text_es=plain_es)
        elif kind == "merge":
            _, code, reason = s.decision
            suggestion_merge(
                suggestion=row, by=researcher, statement=statements[code], reason=reason
            )
        else:
            suggestion_decline(suggestion=row, by=researcher, reason=s.decision[1])
    Suggestion.objects.filter(round__study=study, decided_at__isnull=False).update(
        decided_at=decided_at
    )
    AnswerCode.objects.filter(study=study, suggestion__isnull=False).update(created_at=decided_at)
    ItemChange.objects.filter(study=study, pk__gt=last_change).update(at=decided_at)
