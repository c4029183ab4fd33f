"""Reading competency statements from CSV: every row checked, every problem reported.

Nothing here writes; `competencies.services.statements_import` saves only a clean file.
"""

from competencies.models import Provenance
from lib.csvtable import Row, Table, read_table  # noqa: F401

COLUMNS = ("code", "domain", "text", "plain_text", "provenance")
OPTIONAL = ("text_es", "plain_text_es")
# The database columns' limits; statement texts are TextFields, held to a stated limit that
# no real statement comes near (a statement is a sentence or two).
MAX_STATEMENT_CHARS = 5000
MAX_LENGTHS = {
    "code": 20,
    "domain": 200,
    "provenance": 40,
    **{c: MAX_STATEMENT_CHARS for c in ("text", "plain_text", "text_es", "plain_text_es")},
}


def _provenance_lookup() -> dict[str, str]:
    lookup = {}
    for value, label in Provenance.choices:
        lookup[value] = value
        lookup[str(label).lower()] = value
        lookup[value.replace("_", " ")] = value
        lookup[value.replace("_", "-")] = value
    return lookup


def parse_statements(text: str, *, domains, existing_codes) -> Table:
    table = read_table(text, COLUMNS, OPTIONAL, max_lengths=MAX_LENGTHS)
    if table.problems:
        return table
    by_key = {}
    for d in domains:
        by_key[d.code.lower()] = d
        by_key[d.name.lower()] = d
    existing = {c.lower() for c in existing_codes}
    provenances = _provenance_lookup()
    seen: dict[str, int] = {}
    for row in table.rows:
        v = row.values
        code = v.get("code", "")
        if not code:
            row.problems.append("the code is empty")
        elif len(code) > 20:
            pass  # already reported by read_table's column limits
        elif code.lower() in existing:
            row.problems.append(f"code {code} is already in this framework")
        elif code.lower() in seen:
            row.problems.append(f"code {code} also appears on line {seen[code.lower()]}")
        else:
            seen[code.lower()] = row.line
        if not v.get("text"):
            row.problems.append("the statement text is empty")
        domain_key = v.get("domain", "").lower()
        if not domain_key:
            row.problems.append("the domain is empty")
        else:
            domain = by_key.get(domain_key)
            if domain is None:
                codes = ", ".join(sorted(d.code for d in domains)) or "none yet: add domains first"
                row.problems.append(
                    f"no domain is called “{v['domain']}” (use a code or name: {codes})"
                )
            v["domain_obj"] = domain
        prov = v.get("provenance", "").lower() or "expert_panel"
        if prov not in provenances:
            row.problems.append(
                f"provenance “{v['provenance']}” is not one of "
                + ", ".join(value for value, _ in Provenance.choices)
            )
        else:
            v["provenance"] = provenances[prov]
    return table
