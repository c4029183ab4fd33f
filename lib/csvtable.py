"""Reading a CSV table with a header line, keeping every row's line number and problems.

Shared by the panelist and statement imports (the two leaf apps do not import each other).
Nothing here validates values; callers add their own problems to each `Row`.
"""

import csv
import io
from dataclasses import dataclass, field


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


def read_table(text: str, columns: tuple[str, ...], optional: tuple[str, ...] = ()) -> Table:
    """Parse CSV text whose first line names the columns; check the required ones are there."""
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
        expected = ",".join(columns) + (f" (optionally {','.join(optional)})" if optional else "")
        table.problems.append(
            f"Line 1: the header lacks the column(s) {', '.join(missing)}. "
            f"The first line must be: {expected}"
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
