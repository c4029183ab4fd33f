"""Reading a CSV table with a header line, keeping every row's line number and problems.

Shared by the panelist and statement imports and the ratings readers (the leaf apps do not
import each other). Bytes from a file become text with `decode_csv` (UTF-8 with or without a
byte-order mark, UTF-16 with one, else Windows-1252/Latin-1: what spreadsheets save); any line
ending is accepted (CR LF, LF, and the CR alone of Excel's "CSV (Macintosh)"). A NUL byte, a file
over `MAX_CSV_BYTES` or a value longer than its column allows is refused with a message naming
the line, the column and the fix. Callers add their own problems to each `Row`.
"""

import csv
import io
import re
from dataclasses import dataclass, field

MAX_CSV_BYTES = 2 * 1024 * 1024  # the stated limit for an uploaded or pasted CSV file
MAX_FIELD_CHARS = 10_000  # any one value, unless the caller states a column's own limit
csv.field_size_limit(max(csv.field_size_limit(), MAX_CSV_BYTES + 1))  # our limit, not csv's
_LINE_ENDS = re.compile(r"\r\n?")


class CsvRefused(ValueError):
    """The file as a whole cannot be read; the message says why and what to do."""


def size_problem(n_bytes: int, limit: int = MAX_CSV_BYTES) -> str | None:
    if n_bytes <= limit:
        return None
    return (
        f"The file is {n_bytes / 1024 / 1024:.1f} MB; at most {limit / 1024 / 1024:.0f} MB "
        "can be imported at once. Split it into several files (keep the header line in each)."
    )


def decode_csv(raw: bytes, *, limit: int = MAX_CSV_BYTES) -> tuple[str, str]:
    """Text and the encoding it was read as. Raises CsvRefused for a file that is not text."""
    problem = size_problem(len(raw), limit)
    if problem:
        raise CsvRefused(problem)
    if raw.startswith(b"\xef\xbb\xbf"):
        candidates = ["utf-8-sig"]
    elif raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8", "cp1252", "latin-1"]
    for encoding in candidates:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text and encoding != "utf-16" and raw.count(b"\x00") * 3 > len(raw):
            raise CsvRefused(
                "The file looks like UTF-16 text without a byte-order mark. Save it from your "
                "spreadsheet as “CSV UTF-8 (comma delimited)” and import that file."
            )
        return text, encoding.replace("-sig", " with a byte-order mark")
    raise CsvRefused(
        "The file is not text in a known encoding. Save it from your spreadsheet as "
        "“CSV UTF-8 (comma delimited)” and import that file."
    )


def normalise_text(text: str) -> str:
    """One line ending (LF) for CR LF, LF and a lone CR, and no byte-order mark."""
    return _LINE_ENDS.sub("\n", text.lstrip("\ufeff"))


def nul_problem(text: str, header: list[str] | None = None) -> str | None:
    """A message naming where the first NUL character is, or None."""
    pos = text.find("\x00")
    if pos < 0:
        return None
    line = text.count("\n", 0, pos) + 1
    start = text.rfind("\n", 0, pos) + 1
    before = text[start:pos]
    delimiter = max(",;\t", key=(text.split("\n", 1)[0]).count)
    index = before.count(delimiter)
    where = f"Line {line}"
    if header and index < len(header):
        where += f", column {header[index]}"
    return (
        f"{where}: the file contains a NUL byte (an invisible control character), so it is not "
        "a plain CSV file. Open it in a spreadsheet and save it again as “CSV UTF-8 (comma "
        "delimited)”, or delete that character."
    )


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


def read_table(
    text: str,
    columns: tuple[str, ...],
    optional: tuple[str, ...] = (),
    *,
    max_lengths: dict[str, int] | None = None,
) -> Table:
    """Parse CSV text whose first line names the columns; check the required ones are there,
    and every value against its column's length limit (`max_lengths`, else MAX_FIELD_CHARS)."""
    text = normalise_text(text)
    size = size_problem(len(text.encode("utf-8")))
    if size:
        return Table([], [], [size])
    if not text.strip():
        return Table([], [], ["The file is empty. The first line must name the columns."])
    first = text.split("\n", 1)[0]
    header_guess = [h.strip().lower() for h in re.split(r"[,;\t]", first)]
    nul = nul_problem(text, header_guess)
    if nul:
        return Table([], [], [nul])
    # Spreadsheets in many locales save with semicolons; accept them as well as commas and tabs.
    delimiter = max(",;\t", key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return _read_rows(reader, columns, optional, max_lengths or {})
    except csv.Error as exc:
        return Table(
            [],
            [],
            [
                f"Line {reader.line_num}: the file cannot be read as CSV ({exc}). Check for a "
                'quote (") that is opened but never closed, then save it again as CSV.'
            ],
        )


def _read_rows(reader, columns, optional, max_lengths) -> Table:
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
        for name, value in row.values.items():
            limit = max_lengths.get(name, MAX_FIELD_CHARS)
            if len(value) > limit:
                row.problems.append(
                    f"the {name} is {len(value):,} characters long; at most {limit:,} fit. "
                    "Shorten it"
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
