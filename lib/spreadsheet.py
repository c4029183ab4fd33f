"""Keeping exported text from running as a spreadsheet formula (CSV or XLSX meant for Excel,
LibreOffice, Google Sheets).

A cell starting with = + - @ is a formula in a spreadsheet, and so is one where only blanks
(spaces, tabs, line breaks) come before them: spreadsheets trim leading whitespace before
deciding. Such text gets a leading apostrophe, which every spreadsheet shows as text and hides.
"""

import re

FORMULA = re.compile(r"^[\s\u00a0]*[=+\-@\uff1d\uff0b\uff0d\uff20]|^[\t\r\n]")


def neutralise(text: str) -> str:
    return "'" + text if FORMULA.match(text) else text
