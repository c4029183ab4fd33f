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
COMMENT_P_NEAR = 0.03
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
    for p in panelists:
        p.ratings = _simulate_ratings(p, statements, rng)
    return panelists


def _simulate_ratings(p: SimPanelist, statements: list[DemoStatement], rng) -> list:
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
            ratings.append((s.code, None, _comment(p, s, None, rng)))
            continue
        latent = s.importance + shift + leniency + rng.normal(0.0, NOISE_SD)
        value = int(min(9, max(1, round(latent))))
        ratings.append((s.code, value, _comment(p, s, value, rng)))
    return ratings


def _comment(p: SimPanelist, s: DemoStatement, value, rng) -> str:
    if value is None:
        # Saying why they could not rate is the most common comment on "unable to rate".
        if rng.random() < 0.3:
            return (
                "Fuera de mi experiencia."
                if p.language == "es"
                else "Outside my experience; I can't judge this one."
            )
        return ""
    far = abs(value - s.importance) >= 2.5
    if rng.random() >= (COMMENT_P_FAR if far else COMMENT_P_NEAR):
        return ""
    direction = "high" if value >= s.importance else "low"
    if p.language == "es":
        pool = COMMENTS_ES[direction]
    else:
        pool = COMMENTS.get((s.code, direction)) or COMMENTS.get((s.domain, direction)) or []
    return str(pool[int(rng.integers(len(pool)))]) if pool else ""
