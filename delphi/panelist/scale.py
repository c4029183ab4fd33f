"""The rating scale as a panelist sees it: its bands and points, with their labels in a language.

Used by the questionnaire page and by the protocol page's preview, so the researcher previews
exactly the buttons a panelist gets.
"""

from django.utils import translation


def _spanish(lang: str | None) -> bool:
    return bool(lang) and lang.startswith("es")


def scale_display(*, scale_min: int, scale_max: int, bands, anchors, labels, lang: str) -> dict:
    """{"min", "max", "bands": [{"low", "high", "label", "values", "points"}], "has_points"}.

    A band's label is its Spanish label for a Spanish reader when one is given, else the
    catalogue's translation of the English label (the default GRADE anchors are translated
    there), else the English. A point's label is its Spanish label, else its English one.
    """
    anchors = anchors or {}
    labels = labels or {}
    bands_es = labels.get("bands_es") or {}
    points = labels.get("points") or {}
    points_es = labels.get("points_es") or {}
    spanish = _spanish(lang)
    groups = []
    with translation.override(lang or "en"):
        for low, high in bands:
            low, high = int(low), int(high)
            english = anchors.get(str(low), "")
            label = (bands_es.get(str(low)) if spanish else "") or (
                translation.gettext(english) if english else ""
            )
            values = list(range(low, high + 1))
            point_labels = {
                v: (points_es.get(str(v)) if spanish else "") or points.get(str(v), "")
                for v in values
            }
            groups.append(
                {"low": low, "high": high, "label": label, "values": values,
                 "points": {v: text for v, text in point_labels.items() if text}}
            )  # fmt: skip
    return {
        "min": scale_min,
        "max": scale_max,
        "bands": groups,
        "has_points": any(g["points"] for g in groups),
    }
