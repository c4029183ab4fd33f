"""Reading competency statements from CSV: every row checked, every problem reported.

Nothing here writes; `competencies.services.statements_import` saves only a clean file.
"""

import csv
import io
from dataclasses import dataclass, field

from competencies.models import Provenance

COLUMNS = ("code", "domain", "text", "plain_text", "provenance")
OPTIONAL = ("text_es", "plain_text_es")


@dataclass
class Row:
    line: int
    values: dict
    problems: list[str] = field(default_factory=list)


@dataclass
class Table:
    header: list[str]
    rows: list[Row]
    problems: list[str] = field(default_factory=list)

    @property
    def bad_rows(self) -> list[Row]:
        return [r for r in self.rows if r.problems]

    @property
    def ok(self) -> bool:
        return not self.problems and not self.bad_rows


def read_table(text: str, columns: tuple[str, ...]) -> Table:
    # The same reader as panels.csv_import: the two leaf apps do not import each other.
    text = text.lstrip("\ufeff")
    if not text.strip():
        return Table([], [], ["The file is empty. The first line must name the columns."])
    first = text.splitlines()[0]
    delimiter = max(",;\t", key=first.count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip().lower() for h in next(reader)]
    table = Table(header, [])
    missing = [c for c in columns if c not in header]
    if missing:
        table.problems.append(
            f"Line 1: the header lacks the column(s) {', '.join(missing)}. "
            f"The first line must be: {','.join(columns)} (optionally {','.join(OPTIONAL)})"
        )
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        values = {h: (cells[i].strip() if i < len(cells) else "") for i, h in enumerate(header)}
        row = Row(line, values)
        if len(cells) < len(header):
            row.problems.append(
                f"has {len(cells)} value(s) but the header has {len(header)}; "
                "check for a missing comma"
            )
        elif len(cells) > len(header):
            row.problems.append(
                f"has {len(cells)} values but the header has {len(header)}; "
                "put text containing commas in double quotes"
            )
        table.rows.append(row)
    if not table.rows and not table.problems:
        table.problems.append("The file has a header but no rows to import.")
    return table


def _provenance_lookup() -> dict[str, str]:
    lookup = {}
    for value, label in Provenance.choices:
        lookup[value] = value
        lookup[str(label).lower()] = value
        lookup[value.replace("_", " ")] = value
        lookup[value.replace("_", "-")] = value
    return lookup


def parse_statements(text: str, *, domains, existing_codes) -> Table:
    table = read_table(text, COLUMNS)
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
            row.problems.append("the code is longer than 20 characters")
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
