"""The demo study's protocol, stakeholder groups, domains and crisis scenarios.

Drawn from the researchers' slides ("Identifying the core competencies of community behavioral
health crisis providers"): the problem, the workforce shortages, the five panels, the three
scenarios of escalating risk and the panel themes. The statements are in `statements.py`.
"""

import uuid

# The marker by which `load_demo` recognises its own study: a second run finds it and stops.
DEMO_STUDY_UUID = uuid.UUID("0de70000-c8c2-4a5e-9d11-000000000001")

TITLE = "Core competencies of community behavioral-health crisis responders (CBHCR)"
SHORT_TITLE = "CBHCR core competencies"
CONTACT_EMAIL = "cbhcr-study@example.org"

AIMS = """\
Why this study. In many communities, law enforcement has primary responsibility for \
mental and behavioral-health crisis response. This is not ideal, and communities of color \
shoulder a disproportionate share of its negative consequences. Communities are therefore \
building non-law-enforcement response teams (master's-level clinicians, nurses, paramedics, \
peer specialists), often as pilot programs. 911 coding undercounts behavioral-health calls: \
many sit under "disorder", "suspicious" or "domestic" and could be answered by such a team.

The workforce problem. The behavioral-health workforce faces shortages projected to last \
through 2030; it is overwhelmingly white, with significant barriers to entry; and many \
professionals were never trained for crisis response in the community. Repurposing existing \
professionals is not realistic, and may not be the best approach: several communities have \
done better with staff who have less formal education but more community knowledge.

Aims. (1) Identify the core competencies of community behavioral-health crisis responders \
(CBHCRs) and the key issues in their work, building on expert panels with law enforcement, \
mental-health clinicians, 911 call-takers and dispatchers, peer-support specialists, and \
advocates and family members, who walked through three crisis scenarios of escalating risk; \
(2) refine them through key-informant interviews and focus groups; (3) reach consensus on a \
core set through this Delphi survey. The result will inform a training curriculum and \
certification process that reduces barriers to entry, allows multiple pathways and career \
progression, and values lived experience, and implementation models that can be tailored \
to local contexts."""

CONSENT_TEXT = """\
You are invited to take part in a Delphi survey about the core competencies of community \
behavioral-health crisis responders: the people who respond, instead of or alongside police, \
when someone is in a mental-health crisis.

What taking part involves. Up to four online rounds, each taking about 20 to 30 minutes. \
In the first you describe, in your own words, what a responder must be able to do in three \
crisis scenarios. In the later rounds you rate how important each competency statement is \
for a responder on a scale from 1 (not important) to 9 (critical), or put the most important \
ones in order, and you may comment or suggest new statements. When a statement comes back \
you will see how the panel rated it, anonymously, and may change your rating.

Voluntary. Taking part is voluntary. You may skip any statement ("unable to rate"), stop \
and come back later, or withdraw at any time without giving a reason. If you withdraw, you \
can choose whether the answers you have already given are kept or removed.

Confidentiality. Your answers are stored under a pseudonymous code. Your name and e-mail \
address are kept separately and used only to send you the survey links. Other panelists \
see only anonymous summaries and comments, never who wrote them. Results are reported for \
groups, and a group's results are shown only if it has enough members to stay anonymous.

Risks and benefits. Some scenarios describe distressing situations, including suicide risk \
and violence. There is no direct benefit to you; the results will shape training for crisis \
responders.

Questions: contact the study team at cbhcr-study@example.org. By continuing, you confirm \
that you are 18 or older and agree to take part."""

CONSENT_TEXT_ES = """\
Le invitamos a participar en una encuesta Delphi sobre las competencias básicas de quienes \
responden a crisis de salud conductual en la comunidad: las personas que acuden, en lugar de \
la policía o junto a ella, cuando alguien atraviesa una crisis de salud mental.

En qué consiste. Hasta cuatro rondas en línea, de unos 20 a 30 minutos cada una. En la \
primera usted describe, con sus propias palabras, qué debe saber hacer quien responde en tres \
escenarios de crisis. En las siguientes puntúa la importancia de cada enunciado de competencia \
para quien responde a la crisis, en una escala de 1 (no es importante) a 9 (es crítica), o \
pone en orden los más importantes, y puede añadir comentarios o proponer nuevos enunciados. \
Cuando un enunciado vuelve, verá de forma anónima cómo lo puntuó el panel y podrá cambiar su \
puntuación.

Participación voluntaria. Su participación es voluntaria. Puede omitir cualquier enunciado \
("no puedo puntuar"), detenerse y continuar más tarde, o retirarse en cualquier momento \
sin dar explicaciones. Si se retira, puede decidir si se conservan o se eliminan las \
respuestas que ya haya dado.

Confidencialidad. Sus respuestas se guardan bajo un código seudónimo. Su nombre y su correo \
electrónico se guardan por separado y solo se usan para enviarle los enlaces de la encuesta. \
Las demás personas del panel solo ven resúmenes y comentarios anónimos, nunca quién los \
escribió. Los resultados se presentan por grupos, y los de un grupo solo se muestran si \
tiene suficientes integrantes para preservar el anonimato.

Riesgos y beneficios. Algunos escenarios describen situaciones angustiantes, como riesgo de \
suicidio y violencia. No hay un beneficio directo para usted; los resultados orientarán la \
formación de quienes responden a crisis.

Preguntas: escriba al equipo del estudio a cbhcr-study@example.org. Al continuar, usted \
confirma que tiene 18 años o más y que acepta participar."""

# GRADE 1-9: a label for each band, keyed by the band's first value (the model's format). The
# standard GRADE wording, because the questionnaire translates exactly these labels for
# Spanish-speaking panelists; a study-specific wording would stay in English for them.
SCALE_ANCHORS = {
    "1": "Not important",
    "4": "Important but not critical",
    "7": "Critical",
}
CONSENSUS_DEFINITION = {"preset": "comet", "scope": "all"}
PLANNED_ROUNDS = 4
STOPPING_RULE_DETAIL = (
    "Stop when every statement has reached consensus in or out, or after the fourth round "
    "(open-ended, rating, ranking, re-rating), whichever comes first."
)

RATING_TITLE = "Rate the draft competencies"
RATING_INSTRUCTIONS = (
    "Rate how important each competency is for a community behavioral-health crisis "
    "responder, from 1 (not important) to 9 (critical). Think of the three scenarios: a "
    "distressed son at home, a young man in a park with suicidal thoughts, and a man with a "
    'knife barricaded in his apartment. Choose "unable to rate" if a statement is outside '
    "your experience. Comments help the panel understand your rating."
)
RATING_INSTRUCTIONS_ES = (
    "Puntúe qué tan importante es cada competencia para quien responde a crisis de salud "
    "conductual en la comunidad, de 1 (no es importante) a 9 (es crítica). Piense en los "
    "tres escenarios: un hijo angustiado en casa, un joven con pensamientos suicidas en un "
    'parque y un hombre con un cuchillo atrincherado en su apartamento. Elija "no puedo '
    'puntuar" si un enunciado está fuera de su experiencia. Sus comentarios ayudan al '
    "panel a entender su puntuación."
)

# (code, name, Spanish name, target size)
GROUPS = [
    ("law", "Law enforcement", "Fuerzas del orden", 12),
    ("clinical", "Mental-health clinicians", "Profesionales clínicos de salud mental", 12),
    ("dispatch", "911 call-takers and dispatchers", "Operadores y despachadores del 911", 12),
    ("peer", "Peer-support specialists", "Especialistas de apoyo entre pares", 12),
    ("family", "Advocates and family members", "Defensores y familiares", 12),
]

# (code, name, Spanish name, description)
DOMAINS = [
    (
        "ENG",
        "Engagement and trust",
        "Vinculación y confianza",
        "Engage with the person in crisis and develop a sense of trust and security.",
    ),
    (
        "SYM",
        "Understanding symptoms, stress and trauma",
        "Comprensión de los síntomas, el estrés y el trauma",
        "Understand what people may be experiencing related to mental-illness symptoms, "
        "stress and trauma.",
    ),
    (
        "COM",
        "Communication and de-escalation",
        "Comunicación y desescalada",
        "Communicate with the person and de-escalate the crisis.",
    ),
    (
        "EMP",
        "Empathy and compassion",
        "Empatía y compasión",
        "Show empathy and compassion, and look after oneself in doing so.",
    ),
    (
        "FAM",
        "Engaging family members",
        "Acompañamiento a los familiares",
        "Engage and support family members when they are present.",
    ),
    (
        "RSK",
        "Assessing risk, triggers and information",
        "Evaluación del riesgo, los desencadenantes y la información",
        "Assess acute risk, identify triggers and gather information.",
    ),
    (
        "RES",
        "Connecting to resources",
        "Conexión con recursos",
        "Connect people to services and supports, and follow up.",
    ),
    (
        "SAF",
        "Safety skills and collaboration with law enforcement",
        "Habilidades de seguridad y colaboración con las fuerzas del orden",
        "Keep everyone safe, and work with law enforcement when needed.",
    ),
    (
        "TRI",
        "911 triage",
        "Triaje en el 911",
        "911 call-takers triage the call, gather information and start de-escalation.",
    ),
    (
        "LIV",
        "The value of lived experience",
        "El valor de la experiencia vivida",
        "Draw on lived experience of mental-health conditions, recovery and the community.",
    ),
]

# (code, risk level, title, Spanish title, vignette, Spanish vignette)
SCENARIOS = [
    (
        "SC1",
        "low",
        "A son who has not slept for three nights",
        "Un hijo que lleva tres noches sin dormir",
        "At 10 p.m. a 68-year-old woman calls 911 about her 34-year-old son, who lives with "
        "her. He has not slept for three nights, is talking very fast, pacing the apartment "
        "and saying he has a plan to fix the city's power grid. He has shouted but has not "
        "threatened anyone, and there are no weapons in the home. He was in hospital for "
        '"something like this" five years ago and stopped his medication a month ago. His '
        "mother is frightened, and asks that police not come because her son is scared of them.",
        "A las 10 de la noche, una mujer de 68 años llama al 911 por su hijo de 34 años, que "
        "vive con ella. Lleva tres noches sin dormir, habla muy rápido, camina de un lado a "
        "otro del apartamento y dice que tiene un plan para arreglar la red eléctrica de la "
        "ciudad. Ha gritado, pero no ha amenazado a nadie, y no hay armas en la casa. Hace "
        'cinco años estuvo hospitalizado por "algo así" y dejó su medicamento hace un mes. '
        "La madre está asustada y pide que no vaya la policía, porque su hijo le tiene miedo.",
    ),
    (
        "SC2",
        "moderate",
        "A young man in a park with thoughts of suicide",
        "Un joven en un parque con pensamientos suicidas",
        "Around 6 p.m. a passer-by calls 911 about a man in his early twenties sitting alone "
        "on a bench by the river in a city park, crying and saying he does not want to be "
        "here anymore. He smells of alcohol and has a half-empty bottle beside him. His "
        "mother and sister arrive after he texted them a goodbye message; his mother is "
        "pleading with him loudly and he is becoming angrier. No weapon has been seen. It is "
        "getting dark, and the riverbank is a few steps away.",
        "Hacia las 6 de la tarde, un transeúnte llama al 911 por un hombre de poco más de "
        "veinte años sentado solo en un banco junto al río, en un parque de la ciudad; llora "
        "y dice que ya no quiere estar aquí. Huele a alcohol y tiene a su lado una botella a "
        "medio vaciar. Su madre y su hermana llegan después de que él les enviara un mensaje "
        "de despedida; la madre le suplica en voz alta y él se enoja cada vez más. No se ha "
        "visto ningún arma. Está oscureciendo y la orilla del río está a pocos pasos.",
    ),
    (
        "SC3",
        "high",
        "A man with a knife barricaded in his apartment",
        "Un hombre con un cuchillo atrincherado en su apartamento",
        "Neighbours in an apartment building call 911 after hearing a man in his forties "
        'shouting that "they" are coming to kill him. Neighbours say he has schizophrenia '
        "and has not been seen outside for weeks. He has barricaded his door and says, "
        "through it, that he has a kitchen knife and will use it on anyone who comes in. He "
        "is alone in the apartment. A police patrol arrives first; the crisis team is ten "
        "minutes away.",
        "Los vecinos de un edificio de apartamentos llaman al 911 tras oír a un hombre de "
        'unos cuarenta años gritar que "ellos" vienen a matarlo. Según los vecinos, tiene '
        "esquizofrenia y hace semanas que no sale. Ha atrancado la puerta y, a través de "
        "ella, dice que tiene un cuchillo de cocina y que lo usará contra cualquiera que "
        "entre. Está solo en el apartamento. Una patrulla de policía llega primero; el "
        "equipo de crisis está a diez minutos.",
    ),
]
