"""The demo study's Spanish title, short title, aims and contact note (Spanish-speaking
panelists see them in the header, on the consent page and in their e-mail subjects)."""

from delphi.models import Study

TITLE_ES = "Competencias básicas de quienes responden a crisis de salud conductual en la comunidad"
SHORT_TITLE_ES = "Competencias básicas de respuesta a crisis"
CONTACT_NOTE = "The study team answers within two working days."
CONTACT_NOTE_ES = "El equipo del estudio responde en un plazo de dos días hábiles."

AIMS_ES = """\
Por qué este estudio. En muchas comunidades, la policía tiene la responsabilidad principal de \
responder a las crisis de salud mental y conductual. No es lo ideal, y las comunidades de color \
cargan con una parte desproporcionada de sus consecuencias negativas. Por eso las comunidades \
están creando equipos de respuesta que no son policiales (profesionales clínicos con maestría, \
personal de enfermería, paramédicos, especialistas de apoyo entre pares), a menudo como \
programas piloto.

El problema de la fuerza laboral. La fuerza laboral de salud conductual enfrenta una escasez \
que se prevé durará hasta 2030; es mayoritariamente blanca, con barreras de entrada \
importantes, y muchas personas profesionales nunca se formaron para responder a crisis en la \
comunidad.

Objetivos. (1) Identificar las competencias básicas de quienes responden a crisis de salud \
conductual en la comunidad y los temas clave de su trabajo, a partir de paneles de expertos con \
policía, profesionales clínicos, operadores del 911, especialistas de apoyo entre pares, y \
defensores y familiares; (2) afinarlas con entrevistas a informantes clave y grupos focales; \
(3) llegar a un consenso sobre un conjunto básico mediante esta encuesta Delphi. El resultado \
orientará un plan de formación y un proceso de certificación que reduzca las barreras de \
entrada y valore la experiencia vivida."""


def demo_spanish_fields(study: Study) -> None:
    Study.objects.filter(pk=study.pk).update(
        title_es=TITLE_ES,
        short_title_es=SHORT_TITLE_ES,
        aims_es=AIMS_ES,
        contact_note=CONTACT_NOTE,
        contact_note_es=CONTACT_NOTE_ES,
    )
