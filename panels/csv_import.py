"""Reading a panelist list from CSV: every row checked, every problem reported with its line.

Nothing here writes; `panels.services.panelists_import` saves only a file with no bad row.
"""

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from lib.csvtable import Row, Table, read_table  # noqa: F401
from panels.models import Language, StakeholderGroup

COLUMNS = ("email", "name", "group", "organisation", "language")
REQUIRED_VALUES = ("email", "group")
# The database columns' limits (panels.models.Contact, StakeholderGroup, Panelist).
MAX_LENGTHS = {"email": 254, "name": 200, "group": 200, "organisation": 200, "language": 5}


def parse_panelists(text: str, *, groups, existing_emails) -> Table:
    """Check every row against the panel's groups and e-mails already in the panel."""
    table = read_table(text, COLUMNS, max_lengths=MAX_LENGTHS)
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
