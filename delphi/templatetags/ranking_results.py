"""{% ranking_results round %}: the ranking statistics of a ranking round on its results page.

An inclusion tag, so the results page needs one line and no change to its view."""

from django import template

from delphi.consensus.ranking import ranking_results as ranking_results_data
from delphi.models import Round

register = template.Library()


@register.inclusion_tag("delphi/results/ranking.html")
def ranking_results(rnd, study=None):
    if rnd is None or rnd.kind != Round.Kind.RANKING:
        return {"show": False}
    data = ranking_results_data(round=rnd)
    labels = {"all": "Everyone", **{g.code: g.name for g in data["groups"]}}
    for c in data["concordance"]:
        c.label = labels.get(c.group_key, c.group_key)
    return {"show": True, "round": rnd, "study": study, **data}
