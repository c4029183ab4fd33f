"""``{{ study|study_text:"title" }}``: a study's panelist-facing text in the active language.

Spanish pages and e-mails (rendered under ``translation.override``) get ``title_es``,
``short_title_es``, ``aims_es`` or ``contact_note_es`` where the researcher gave them, else the
English field. ``short_title`` falls back to the title.
"""

from django import template
from django.utils import translation

register = template.Library()


@register.filter
def study_text(study, name: str) -> str:
    if study is None:
        return ""
    lang = translation.get_language()
    if name == "short_title":
        return study.display_short_title(lang)
    return study.in_language(name, lang)
