"""The simulated panel and its round-1 ratings. Pure: no Django, a fixed seed.

Each simulated panelist rates a statement around the statement's `importance`, shifted by
what their stakeholder group cares about (law enforcement rates safety and collaboration
higher, peers rate lived experience higher, dispatchers rate 911 triage higher, ...), by their
own leniency and by noise. Outside their experience some choose "unable to rate". A few write
a comment, more often when their rating is far from the panel's centre. The same seed gives
the same panel, ratings and comments on every machine.
"""

from dataclasses import dataclass, field

import numpy as np

from delphi.demo.statements import DemoStatement

SEED = 20210311  # fixed: `load_demo` must build the same demo every time

# Panelists per group: about 60, spread over the five groups.
GROUP_SIZES = {"law": 12, "clinical": 13, "dispatch": 11, "peer": 12, "family": 12}

# How each group's view of a domain differs from the panel's (in scale points).
DOMAIN_SHIFT = {
    "law": {"SAF": 1.0, "TRI": 0.2, "EMP": -0.2, "LIV": -0.8},
    "clinical": {"SYM": 0.5, "RSK": 0.5, "SAF": -0.2, "LIV": -0.6},
    "dispatch": {"TRI": 1.1, "SAF": 0.4, "FAM": -0.2},
    "peer": {"LIV": 1.6, "EMP": 0.5, "ENG": 0.4, "RSK": -0.3, "SAF": -0.8},
    "family": {"FAM": 1.2, "LIV": 0.7, "ENG": 0.2, "SAF": -0.6},
}
# Statements the groups disagree about more sharply than their domain does.
ITEM_SHIFT = {
    "LIV-6": {"clinical": 2.5, "peer": -2.6, "family": -1.2},
    "SAF-6": {"law": 2.5, "dispatch": 1.0, "peer": -1.0},
    "SAF-4": {"law": 1.2, "peer": -0.6},
    "RSK-4": {"clinical": 1.2, "peer": -0.8},
    "FAM-3": {"family": -1.2, "peer": 1.0, "clinical": 0.6},
    "LIV-1": {"clinical": -0.4},
}
# Chance of "unable to rate": small everywhere, larger outside a group's experience.
UNABLE_BASE = 0.015
UNABLE_DOMAIN = {
    ("family", "TRI"): 0.12,
    ("family", "RSK"): 0.04,
    ("dispatch", "FAM"): 0.06,
    ("dispatch", "RES"): 0.06,
    ("law", "LIV"): 0.05,
    ("peer", "TRI"): 0.05,
}
UNABLE_USERS = 0.35  # the share of panelists who ever choose "unable to rate"
UNABLE_USER_FACTOR = 2.5
NOISE_SD = 1.15
LENIENCY_SD = 0.45

# Of about 60 invited: most submitted; two started but never submitted (their drafts are not
# analysed); two never started; one peer withdrew after submitting and kept their answers.
DRAFT_KEYS = {("dispatch", 4), ("family", 9)}
NOT_STARTED_KEYS = {("law", 11), ("family", 11)}
WITHDRAWN_KEYS = {("peer", 7)}
SPANISH_KEYS = {
    ("law", 5),
    ("clinical", 8),
    ("dispatch", 2),
    ("peer", 3),
    ("family", 1),
    ("family", 6),
}

FIRST_NAMES = [
    "Alex", "Maria", "Jamal", "Linh", "Sofia", "Daniel", "Aisha", "Carlos", "Grace", "Tomas",
    "Keisha", "Mateo", "Priya", "Robert", "Lucia", "Hannah", "Andre", "Mei", "Samuel", "Rosa",
    "Kevin", "Yolanda", "Omar", "Claire", "Diego", "Tanya", "Ibrahim", "Elena", "Marcus", "Nina",
]  # fmt: skip
LAST_NAMES = [
    "Rivera", "Johnson", "Nguyen", "Okafor", "Garcia", "Williams", "Begay", "Martinez", "Chen",
    "Brown", "Hernandez", "Washington", "Patel", "Lopez", "Kim", "Jackson", "Torres", "Murphy",
    "Ramirez", "Davis", "Flores", "Yazzie", "Morales", "Thompson", "Castillo", "Ali",
]  # fmt: skip
ORGANISATIONS = {
    "law": ["Riverton Police Department", "Harlan County Sheriff's Office"],
    "clinical": ["Harbor Community Mental Health Center", "Riverton Mobile Crisis Team"],
    "dispatch": ["Riverton Emergency Communications Center", "Harlan County 911"],
    "peer": ["Peer Recovery Network", "Open Door Peer Respite"],
    "family": ["Families for Mental Health, Riverton", "Harlan Parents' Advocacy Circle"],
}
ROLES = {
    "law": ["Patrol officer, CIT-trained", "Crisis intervention team coordinator", "Sergeant"],
    "clinical": ["Licensed clinical social worker", "Psychiatric nurse", "Crisis counsellor"],
    "dispatch": ["911 call-taker", "Dispatcher", "Communications supervisor"],
    "peer": ["Certified peer specialist", "Peer-respite staff", "Recovery coach"],
    "family": ["Parent of an adult son with bipolar disorder", "Community advocate", "Sibling"],
}
YEARS = {"law": (3, 25), "clinical": (2, 30), "dispatch": (1, 20), "peer": (1, 15)}
SETTINGS = ["urban", "suburban", "rural", "tribal", "mixed"]
SETTING_P = [0.45, 0.25, 0.18, 0.04, 0.08]
LIVED_P = {"law": 0.15, "clinical": 0.25, "dispatch": 0.2, "peer": 1.0, "family": 0.6}

# (domain or statement code, "high" | "low") -> comments. Statement codes win over domains.
COMMENTS = {
    ("ENG", "high"): [
        "Everything else depends on this. If the person doesn't trust you, nothing works.",
        "People we serve have often been let down before; trust is earned in the first minute.",
    ],
    ("ENG", "low"): [
        "Important, but on a dangerous call safety has to come before rapport.",
    ],
    ("SYM", "high"): [
        "Missing a medical cause is how people die on these calls.",
        "You can't de-escalate what you don't understand.",
    ],
    ("SYM", "low"): [
        "Responders need to recognise, not diagnose. Leave that to clinicians.",
    ],
    ("COM", "high"): [
        "This is the core of the job in all three scenarios.",
        "Calm is contagious. So is panic.",
    ],
    ("COM", "low"): [
        "Useful, but a specialised skill; not every responder needs it on day one.",
    ],
    ("EMP", "high"): [
        "People remember how they were treated long after they forget what was said.",
        "Burnout is real in this work; without self-care, compassion doesn't last.",
    ],
    ("EMP", "low"): [
        "Hard to train or certify; it should be a hiring criterion instead.",
    ],
    ("FAM", "high"): [
        "As a mother, I was treated like a bystander when I knew my son best.",
        "Families are often the ones who called; they need to be part of the plan.",
    ],
    ("FAM", "low"): [
        "The person in crisis comes first; family needs can be met later by other services.",
    ],
    ("RSK", "high"): [
        "Asking directly about suicide does not plant the idea; not asking misses it.",
        "Risk changes minute by minute, especially with alcohol involved.",
    ],
    ("RSK", "low"): [
        "Checklists can turn a conversation into an interrogation.",
    ],
    ("RES", "high"): [
        "A warm hand-off is the difference between a referral and actually getting care.",
        "If you leave without a plan, you will be called back the same night.",
    ],
    ("RES", "low"): [
        "Case management is a different job; the crisis team can't solve housing.",
    ],
    ("SAF", "high"): [
        "Scenario 3 is exactly when roles with police must already be agreed.",
        "Nobody helps anyone if the responder gets hurt.",
    ],
    ("SAF", "low"): [
        "Too much emphasis on safety makes the team look and act like police.",
    ],
    ("TRI", "high"): [
        "Half our behavioral-health calls come in coded as something else.",
        "The first 90 seconds on the phone set up the whole response.",
    ],
    ("TRI", "low"): [
        "I can't judge call-taking; outside my experience.",
    ],
    ("LIV", "high"): [
        "Lived experience is expertise. It opens doors a badge or a degree never will.",
        "Hire from the community you serve.",
    ],
    ("LIV", "low"): [
        "Valuable, but it can't replace training and supervision.",
    ],
    # Statement-specific comments, above all for the statements that split the panel: they are
    # what panelists read beside the round-1 distribution in round 2.
    ("ENG-5", "high"): [
        "Using a child to interpret for a parent in crisis is harmful for both of them.",
        "In our county a third of calls involve someone whose first language isn't English.",
    ],
    ("ENG-5", "low"): [
        "A telephone interpreter at 2 a.m. is often not realistic; family may be all there is.",
        "Good practice, but it describes a service the system must provide, not a skill.",
    ],
    ("SYM-5", "high"): [
        "Autistic people are badly over-represented in use-of-force incidents.",
    ],
    ("SYM-5", "low"): [
        "Specialist knowledge; a general responder should know when to call someone who has it.",
    ],
    ("COM-5", "high"): [
        "Scenario 3 is exactly this: all you have is a voice through a door.",
    ],
    ("COM-5", "low"): [
        "Barricade negotiation is a specialist police role, not a core responder skill.",
        "Rare in our call volume; train it for a few, not for everyone.",
    ],
    ("EMP-4", "high"): [
        "Turnover is our biggest problem. Staff who are not supported leave within a year.",
    ],
    ("EMP-4", "low"): [
        "That is the employer's duty, not a competency of the responder.",
    ],
    ("EMP-5", "high"): [
        "Bias is part of why communities of color fear crisis calls; it has to be named.",
    ],
    ("EMP-5", "low"): [
        "Everyone agrees with this, but how would you assess it for certification?",
    ],
    ("FAM-2", "high"): [
        "Families often made the call and then get shut out. That is when they need us most.",
    ],
    ("FAM-2", "low"): [
        "The person in crisis comes first; supporting relatives can wait for follow-up.",
    ],
    ("FAM-6", "high"): [
        "No one told us family support groups existed until years later.",
    ],
    ("FAM-6", "low"): [
        "Nice to have, but the crisis team's time is for the person in crisis.",
    ],
    ("RSK-5", "high"): [
        "Least restrictive is the whole point of a non-police response.",
    ],
    ("RES-4", "high"): [
        "The days right after a crisis carry the highest risk; follow-up saves lives.",
    ],
    ("RES-4", "low"): [
        "Follow-up matters, but it is usually another team's job.",
    ],
    ("RES-5", "high"): [
        "Half the crises I see start with an eviction notice or a missed prescription.",
    ],
    ("RES-5", "low"): [
        "We cannot become a taxi and food bank; link people to the services that do this.",
    ],
    ("SAF-2", "high"): [
        "Clear criteria protect the responder and the person: fewer calls for police, not more.",
    ],
    ("SAF-2", "low"): [
        "Calling police should be the rare exception; criteria tend to widen over time.",
    ],
    ("SAF-3", "high"): [
        "On a barricade call both teams are there; roles must be agreed before, not on scene.",
    ],
    ("SAF-3", "low"): [
        "Joint calls blur the line the community asked us to draw.",
        "People who fear police will not talk to us if we arrive together.",
    ],
    ("SAF-5", "high"): [
        "Debriefs are where the protocols actually get fixed.",
    ],
    ("SAF-5", "low"): [
        "Useful for managers, not a core skill of the individual responder.",
    ],
    ("TRI-3", "high"): [
        "A calm voice on the phone in the first minutes can keep everyone safe until help comes.",
    ],
    ("TRI-3", "low"): [
        "Call-takers have other calls holding; they can't stay on the line that long.",
    ],
    ("TRI-4", "high"): [
        "Many of our calls could be resolved by 988 without sending anyone.",
    ],
    ("TRI-4", "low"): [
        "Transfer protocols are still being worked out here; hard to call it a core skill yet.",
    ],
    ("LIV-2", "high"): [
        "Sharing too much can make the moment about you; knowing when is the real skill.",
    ],
    ("LIV-2", "low"): [
        "Only relevant for peers; clinicians are trained not to self-disclose.",
    ],
    ("LIV-3", "high"): [
        "Knowing the neighbourhood is why community responders get through when others don't.",
    ],
    ("LIV-3", "low"): [
        "Responders cover whole counties; nobody can know every community.",
    ],
    ("LIV-5", "high"): [
        "Teams fall apart when the peer is treated as the junior member.",
    ],
    ("LIV-5", "low"): [
        "Equal respect, yes, but someone must hold clinical responsibility.",
    ],
    ("LIV-6", "high"): [
        "Without clinical training, who carries the liability for a risk assessment?",
    ],
    ("LIV-6", "low"): [
        "This requirement is exactly the barrier to entry the workforce can't afford.",
        "Some of the best responders I know have no degree at all.",
    ],
    ("SAF-6", "high"): [
        "Sometimes there is no other option, and waiting for police takes too long.",
    ],
    ("SAF-6", "low"): [
        "Physical restraint is a police or medical task; it destroys trust with the team.",
        "This is exactly what we are trying to move away from.",
    ],
    ("SAF-4", "high"): [
        "Every responder will face an assault at some point in their career.",
    ],
    ("SAF-4", "low"): [
        "Training should focus on avoiding this, not on physical techniques.",
    ],
    ("RSK-4", "high"): [
        "A common tool means a common language with the hospital and the crisis line.",
    ],
    ("RSK-4", "low"): [
        "Forms get in the way of the human conversation.",
    ],
    ("FAM-3", "high"): [
        "Adults have a right to privacy, even in crisis. Trust breaks if we overshare.",
    ],
    ("FAM-3", "low"): [
        "Privacy rules kept me in the dark when my daughter was most at risk.",
    ],
    ("SYM-6", "high"): [
        "The team needs some working idea of what is going on to choose where to go.",
    ],
    ("SYM-6", "low"): [
        "Diagnosis on the street is neither possible nor needed.",
        "Labels given in a crisis follow people for years.",
    ],
    ("LIV-1", "high"): [
        'Hearing "I\'ve been there" was the turning point for me.',
    ],
    ("LIV-1", "low"): [
        "Self-disclosure should be the peer specialist's role, not every responder's.",
    ],
}
COMMENTS_ES = {
    "high": [
        "Es fundamental; sin esto no se puede ayudar a nadie.",
        "En mi comunidad esto marca la diferencia.",
        "Lo he visto funcionar muchas veces.",
        "Sin esta habilidad, la persona no vuelve a pedir ayuda.",
    ],
    "low": [
        "Es importante, pero no todos los miembros del equipo lo necesitan.",
        "Esto le corresponde a otro servicio, no al equipo de crisis.",
        "No estoy seguro de que se pueda enseñar en una capacitación.",
    ],
}
UNABLE_COMMENTS = [
    "Outside my experience; I can't judge this one.",
    "Not my area of work.",
    "I would defer to the people who do this every day.",
]
UNABLE_COMMENTS_ES = ["Fuera de mi experiencia.", "No es mi área de trabajo."]
COMMENT_P_NEAR = 0.03
COMMENT_P_CONTESTED = 0.10
COMMENT_P_FAR = 0.35  # when the rating is 2.5 points or more from the statement's importance


@dataclass
class SimPanelist:
    group: str
    index: int  # within the group, from 0
    language: str
    name: str
    email: str
    organisation: str
    role: str
    years_experience: int | None
    setting: str
    lived_experience: bool | None
    outcome: str  # "submitted", "draft" or "not_started"
    withdrawn: bool
    ratings: list = field(default_factory=list)  # [(code, value or None, comment)]


def simulate_panel(statements: list[DemoStatement], *, seed: int = SEED) -> list[SimPanelist]:
    rng = np.random.default_rng(seed)
    panelists = []
    n = 0
    for group, size in GROUP_SIZES.items():
        for index in range(size):
            key = (group, index)
            first = FIRST_NAMES[(n * 7) % len(FIRST_NAMES)]
            last = LAST_NAMES[(n * 11 + 3) % len(LAST_NAMES)]
            n += 1
            lo, hi = YEARS.get(group, (0, 0))  # family members: no years of practice
            lived_p = LIVED_P[group]
            # A few prefer not to say (None), as real panelists do.
            lived = None if rng.random() < 0.08 and lived_p < 1 else bool(rng.random() < lived_p)
            if key in DRAFT_KEYS:
                outcome = "draft"
            elif key in NOT_STARTED_KEYS:
                outcome = "not_started"
            else:
                outcome = "submitted"
            panelists.append(
                SimPanelist(
                    group=group,
                    index=index,
                    language="es" if key in SPANISH_KEYS else "en",
                    name=f"{first} {last}",
                    email=f"{first.lower()}.{last.lower()}.{n:02d}@example.org",
                    organisation=ORGANISATIONS[group][index % 2],
                    role=ROLES[group][index % 3],
                    years_experience=int(rng.integers(lo, hi + 1)) if hi else None,
                    setting=str(rng.choice(SETTINGS, p=SETTING_P)),
                    lived_experience=lived,
                    outcome=outcome,
                    withdrawn=key in WITHDRAWN_KEYS,
                )
            )
    used: set = set()
    for p in panelists:
        p.ratings = _simulate_ratings(p, statements, rng, used)
    return panelists


def _simulate_ratings(p: SimPanelist, statements: list[DemoStatement], rng, used: set) -> list:
    if p.outcome == "not_started":
        return []
    leniency = rng.normal(0.0, LENIENCY_SD)
    # Most panelists rate everything; "unable to rate" comes from the few who use it, which
    # keeps enough complete cases for Kendall's W.
    unable_factor = UNABLE_USER_FACTOR if rng.random() < UNABLE_USERS else 0.0
    # A draft stops part-way through the questionnaire.
    count = len(statements) if p.outcome == "submitted" else int(len(statements) * 0.4)
    ratings = []
    for s in statements[:count]:
        shift = DOMAIN_SHIFT[p.group].get(s.domain, 0.0) + ITEM_SHIFT.get(s.code, {}).get(
            p.group, 0.0
        )
        unable_p = UNABLE_DOMAIN.get((p.group, s.domain), UNABLE_BASE) * unable_factor
        if rng.random() < unable_p:
            ratings.append((s.code, None, _comment(p, s, None, rng, used)))
            continue
        latent = s.importance + shift + leniency + rng.normal(0.0, NOISE_SD)
        value = int(min(9, max(1, round(latent))))
        ratings.append((s.code, value, _comment(p, s, value, rng, used)))
    return ratings


def _comment(p: SimPanelist, s: DemoStatement, value, rng, used: set) -> str:
    if value is None:
        # Saying why they could not rate is the most common comment on "unable to rate".
        if rng.random() >= 0.3:
            return ""
        pool = UNABLE_COMMENTS_ES if p.language == "es" else UNABLE_COMMENTS
    else:
        far = abs(value - s.importance) >= 2.5
        # Statements that split the panel draw more comments, as they do in real panels.
        near = COMMENT_P_CONTESTED if (s.code, "high") in COMMENTS else COMMENT_P_NEAR
        if rng.random() >= (COMMENT_P_FAR if far else near):
            return ""
        direction = "high" if value >= s.importance else "low"
        if p.language == "es":
            pool = COMMENTS_ES[direction]
        else:
            pool = COMMENTS.get((s.code, direction)) or COMMENTS.get((s.domain, direction)) or []
    # The same words twice under one statement would give the simulation away.
    fresh = [c for c in pool if (s.code, c) not in used]
    if not fresh:
        return ""
    comment = str(fresh[int(rng.integers(len(fresh)))])
    used.add((s.code, comment))
    return comment
