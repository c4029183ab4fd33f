"""Generated methods and results paragraphs (English and Spanish) and the ACCORD checklist map."""

from __future__ import annotations

from delphi.reports.data import ACCORD_FIELDS, ReportData, software_version

SCOPE_ES = {
    "all": "aplicada al panel completo",
    "every_group": "exigida en cada grupo de interés",
    "balanced": "aplicada al agregado equilibrado (cada grupo con el mismo peso)",
}
PRESET_ES = {
    "comet": "COMET (al menos 70 % en la banda superior y menos de 15 % en la inferior)",
    "ram": "RAND/UCLA (mediana 7-9 sin desacuerdo por la regla IPRAS)",
    "iqr": "rango intercuartílico de 1 como máximo con la mediana en la banda superior",
    "percent": "porcentaje de acuerdo en la banda superior",
    "custom": "una regla propia del estudio",
}


def _date(value) -> str:
    if value is None or value != value:  # NaT
        return "?"
    return f"{value:%Y-%m-%d}"


def _panel(data: ReportData) -> tuple[int, list[tuple[str, int]]]:
    people = data.panelists[data.panelists["consented"]]
    by_group = [
        (data.group_label(code), int((people["group"] == code).sum()))
        for code in data.groups["code"]
    ]
    return len(people), [(label, n) for label, n in by_group if n]


def _rates(data: ReportData) -> list[tuple[int, float | None]]:
    flow = data.flow
    if flow.empty:
        return []
    overall = flow[flow["group"] == "all"]
    return [(int(r["round"]), r["response_rate"]) for _, r in overall.iterrows()]


def _counts(data: ReportData) -> dict:
    analysed = data.rounds[data.rounds["analysed"]]
    ledger = data.ledger
    first = int(analysed["number"].min()) if len(analysed) else None
    entered = int((ledger["first_round"] == first).sum()) if first is not None else 0
    return {
        "rounds": len(analysed),
        "entered": entered,
        "first": first,
        "in": int((ledger["fate"] == "consensus in").sum()),
        "out": int((ledger["fate"] == "consensus out").sum()),
        "dropped": int((ledger["fate"] == "dropped").sum()),
        "added": int(ledger["added_by_panelist"].sum()) if len(ledger) else 0,
        "open": int(ledger["fate"].isin(["no consensus", "not carried", "carried"]).sum()),
    }


def methods_text(data: ReportData, language: str = "en") -> list[str]:
    """Paragraphs a paper's methods and results sections can start from."""
    study = data.study
    definition = study.consensus_definition or {}
    preset = definition.get("preset", "comet")
    scope = definition.get("scope", "all")
    protocol = {row["key"]: row["value"] for row in data.protocol}
    rounds = data.rounds
    n_panel, by_group = _panel(data)
    rates = _rates(data)
    c = _counts(data)
    version = software_version()
    if language == "es":
        if not data.analysed:
            return [
                "Todavía no se ha analizado ninguna ronda de este estudio; el texto de métodos y "
                "resultados se genera cuando la primera ronda de calificación tenga resultados."
            ]
        round_list = "; ".join(
            f"ronda {int(r.number)} ({_date(r.opened_at)} a {_date(r.closed_at)})"
            for r in rounds.itertuples()
            if r.opened_at is not None and r.opened_at == r.opened_at
        )
        groups = ", ".join(f"{label} (n = {n})" for label, n in by_group)
        rate_text = "; ".join(
            f"ronda {n}: {rate:.0f} %" for n, rate in rates if rate is not None and rate == rate
        )
        return [
            f"Realizamos un estudio Delphi en línea de {len(rounds)} ronda(s): {round_list}. "
            f"El panel estuvo formado por {n_panel} participantes que dieron su consentimiento, "
            f"de los grupos de interés {groups}. "
            f"Tasa de respuesta: {rate_text or 'no disponible'}.",
            f"Los participantes calificaron cada enunciado en una escala de {study.scale_min} a "
            f"{study.scale_max} ({protocol.get('anchors', '')}), con la opción «no puedo "
            f"calificar». El consenso se definió a priori como {PRESET_ES.get(preset, preset)}, "
            f"{SCOPE_ES.get(scope, scope)} ({protocol.get('citation', '')}). Desde la segunda "
            "ronda, cada participante vio su calificación anterior, la distribución del panel "
            "(en conjunto y por grupo) y los comentarios anónimos. Las respuestas fueron "
            "cuasi anónimas (identificadores públicos seudónimos); los grupos con menos de "
            f"{study.min_group_size} participantes no se mostraron por separado. Los cuantiles "
            f"se calcularon con el tipo {study.quantile_method} de Hyndman-Fan. El análisis se "
            f"hizo con Delphi platform {version}.",
            f"{c['entered']} enunciados entraron en la ronda {c['first']}; tras {c['rounds']} "
            f"ronda(s) analizada(s), {c['in']} alcanzaron consenso de inclusión y {c['out']} de "
            f"exclusión; {c['dropped']} se retiraron, {c['added']} fueron añadidos a partir de "
            f"sugerencias del panel y {c['open']} quedaron sin consenso.",
        ]
    if not data.analysed:
        return [
            "No round of this study has been analysed yet; the methods and results text is "
            "generated once the first rating round has results."
        ]
    round_list = "; ".join(
        f"round {int(r.number)} ({_date(r.opened_at)} to {_date(r.closed_at)})"
        for r in rounds.itertuples()
        if r.opened_at is not None and r.opened_at == r.opened_at
    )
    groups = ", ".join(f"{label} (n = {n})" for label, n in by_group)
    rate_text = "; ".join(
        f"round {n}: {rate:.0f} %" for n, rate in rates if rate is not None and rate == rate
    )
    return [
        f"We ran an online Delphi study of {len(rounds)} round(s): {round_list}. The panel "
        f"comprised {n_panel} consenting panelists from the stakeholder groups {groups}. "
        f"Response rates: {rate_text or 'not available'}.",
        f"Panelists rated each statement on a {study.scale_min}-{study.scale_max} scale "
        f"({protocol.get('anchors', '')}), with an 'unable to rate' option. Consensus was "
        f"defined a priori as follows: {protocol.get('definition', '')} "
        f"({protocol.get('citation', '')}). From round 2, each panelist saw their own previous "
        "rating, the panel's distribution of ratings (overall and by stakeholder group) and the "
        "anonymous comments. Responses were quasi-anonymous (pseudonymous public ids); groups "
        f"with fewer than {study.min_group_size} panelists were not shown on their own. "
        f"Quantiles used Hyndman-Fan type {study.quantile_method}. The analysis used the Delphi "
        f"platform {version}.",
        f"{c['entered']} statements entered round {c['first']}; after {c['rounds']} analysed "
        f"round(s), {c['in']} reached consensus in and {c['out']} consensus out; {c['dropped']} "
        f"were dropped, {c['added']} were added from panelists' suggestions and {c['open']} "
        "remained without consensus.",
    ]


# (topic, where the report answers it) -- or a study field for what the data cannot answer.
# Topics paraphrase the ACCORD checklist (Gattrell et al., PLoS Medicine 2024).
ACCORD_MAP = [
    ("Introduction", "Rationale and objectives of the consensus exercise", "protocol:aims"),
    ("Methods", "Registration of the protocol", "field:registration"),
    ("Methods", "Steering committee: who, how chosen, role", "field:steering_group"),
    ("Methods", "Selection and recruitment of participants", "part:flow"),
    ("Methods", "Characteristics of the participants", "part:panel"),
    ("Methods", "Preparatory work and how the items were generated", "part:ledger"),
    ("Methods", "The consensus method and the number of rounds", "part:protocol"),
    ("Methods", "Definition of consensus and when it was set", "part:protocol"),
    ("Methods", "Rating scale and anchors", "part:protocol"),
    ("Methods", "Pilot testing of the questionnaire", "field:pilot_testing"),
    ("Methods", "Feedback given to participants between rounds", "part:protocol"),
    ("Methods", "Anonymity of the participants", "part:protocol"),
    ("Methods", "How items were added, modified or dropped between rounds", "part:ledger"),
    ("Methods", "Data analysis (statistics, stopping rule)", "part:text"),
    ("Methods", "Ethics approval and consent", "field:ethics_approval"),
    ("Results", "Participants and response rate in each round", "part:flow"),
    ("Results", "Results of each round", "part:results"),
    ("Results", "The final outcome (the list that reached consensus)", "part:final"),
    ("Results", "Robustness of the result to the definition of consensus", "part:sensitivity"),
    ("Results", "Stability and agreement across rounds", "part:stability"),
    ("Results", "Participants' comments and suggestions", "part:qualitative"),
    ("Results", "Deviations from the protocol", "part:protocol"),
    ("Other", "Funding", "field:funding"),
    ("Other", "Conflicts of interest", "field:conflicts_of_interest"),
]
PART_LABELS = {
    "results": "Results by round",
    "protocol": "Protocol",
    "flow": "Participant flow",
    "panel": "Panel characteristics",
    "ledger": "Item ledger",
    "final": "Final list",
    "sensitivity": "Sensitivity",
    "stability": "Stability and concordance",
    "qualitative": "Qualitative material",
    "text": "Methods and results text",
    "accord": "ACCORD checklist",
}


def accord_rows(data: ReportData) -> list[dict]:
    fields = dict(ACCORD_FIELDS)
    rows = []
    for section, topic, where in ACCORD_MAP:
        kind, _, name = where.partition(":")
        if kind == "field":
            value = data.accord_fields.get(name, "")
            rows.append(
                {
                    "section": section,
                    "topic": topic,
                    "where": f"Study field: {fields[name]}",
                    "answer": value or "Not given yet (edit the study's reporting fields).",
                    "answered": bool(value),
                    "part": None,
                }
            )
        elif kind == "protocol":
            rows.append(
                {
                    "section": section,
                    "topic": topic,
                    "where": "Study aims",
                    "answer": data.study.aims or "Not given yet.",
                    "answered": bool(data.study.aims),
                    "part": None,
                }
            )
        else:
            rows.append(
                {
                    "section": section,
                    "topic": topic,
                    "where": PART_LABELS[name],
                    "answer": "",
                    "answered": data.analysed or name in ("protocol", "flow", "panel"),
                    "part": name,
                }
            )
    return rows
