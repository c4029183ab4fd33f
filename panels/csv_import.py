"""Reading a panelist list from CSV: every row checked, every problem reported with its line.

Nothing here writes; `panels.services.panelists_import` saves only a file with no bad row.
"""

import csv
import io
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from panels.models import Language, StakeholderGroup

COLUMNS = ("email", "name", "group", "organisation", "language")
REQUIRED_VALUES = ("email", "group")


@dataclass
class Row:
    line: int
    values: dict
    problems: list[str] = field(default_factory=list)


@dataclass
class Table:
    header: list[str]
    rows: list[Row]
    problems: list[str] = field(default_factory=list)  # about the file as a whole

    @property
    def bad_rows(self) -> list[Row]:
        return [r for r in self.rows if r.problems]

    @property
    def ok(self) -> bool:
        return not self.problems and not self.bad_rows


def read_table(text: str, columns: tuple[str, ...]) -> Table:
    """Parse CSV text with a header line; checks the header names the expected columns."""
    text = text.lstrip("\ufeff")
    if not text.strip():
        return Table([], [], ["The file is empty. The first line must name the columns."])
    first = text.splitlines()[0]
    # Spreadsheets in many locales save with semicolons; accept them as well as commas and tabs.
    delimiter = max(",;\t", key=first.count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip().lower() for h in next(reader)]
    table = Table(header, [])
    missing = [c for c in columns if c not in header]
    if missing:
        table.problems.append(
            f"Line 1: the header lacks the column(s) {', '.join(missing)}. "
            f"The first line must be: {','.join(columns)}"
        )
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        row = Row(
            line, {h: (cells[i].strip() if i < len(cells) else "") for i, h in enumerate(header)}
        )
        if len(cells) < len(header):
            row.problems.append(
                f"has {len(cells)} value(s) but the header has {len(header)}; "
                "check for a missing comma"
            )
        elif len(cells) > len(header):
            row.problems.append(
                f"has {len(cells)} values but the header has {len(header)}; "
                "put values containing commas in double quotes"
            )
        table.rows.append(row)
    if not table.rows and not table.problems:
        table.problems.append("The file has a header but no rows to import.")
    return table


def parse_panelists(text: str, *, groups, existing_emails) -> Table:
    """Check every row against the panel's groups and e-mails already in the panel."""
    table = read_table(text, COLUMNS)
    if table.problems:
        return table
    by_key: dict[str, StakeholderGroup] = {}
    for g in groups:
        by_key[g.code.lower()] = g
        by_key[g.name.lower()] = g
    existing = {e.lower() for e in existing_emails}
    seen: dict[str, int] = {}
    languages = {v for v in Language.values}
    for row in table.rows:
        v = row.values
        for col in REQUIRED_VALUES:
            if not v.get(col):
                row.problems.append(f"the {col} is empty")
        email = v.get("email", "").lower()
        if email:
            try:
                validate_email(email)
            except ValidationError:
                row.problems.append(f"“{v['email']}” is not a valid e-mail address")
            else:
                if email in existing:
                    row.problems.append(f"{v['email']} is already in this panel")
                elif email in seen:
                    row.problems.append(f"{v['email']} also appears on line {seen[email]}")
                else:
                    seen[email] = row.line
        group_key = v.get("group", "").lower()
        if group_key:
            group = by_key.get(group_key)
            if group is None:
                names = ", ".join(sorted(g.code for g in groups)) or "none yet: add groups first"
                row.problems.append(
                    f"no stakeholder group is called “{v['group']}” (use a code or name: {names})"
                )
            v["group_obj"] = group
        lang = (v.get("language") or "en").lower()
        if lang not in languages:
            row.problems.append(f"language “{v['language']}” is not one of {', '.join(languages)}")
        v["language"] = lang
    return table
