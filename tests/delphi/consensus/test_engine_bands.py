"""The worker analyses a round with the study's configured bands, frozen when the round opened."""

import pytest

from delphi.consensus import services
from delphi.consensus.stats import Scale
from delphi.models import ConsensusRun, ItemDecision, ItemResult, Study
from tests.delphi.consensus.test_engine import build_round


def test_two_bands_from_the_round_snapshot(study):
    Study.objects.filter(pk=study.pk).update(bands=[[1, 6], [7, 9]], scale_anchors={})
    study.refresh_from_db()
    rnd = build_round(study)
    # The snapshot the round opened under decides, not a later change of the study.
    rnd.rule_snapshot = {"bands": [[1, 6], [7, 9]], "scale_min": 1, "scale_max": 9}
    rnd.save(update_fields=["rule_snapshot"])
    Study.objects.filter(pk=study.pk).update(bands=[[1, 3], [4, 6], [7, 9]])
    run = services.consensus_compute_now(round=rnd)
    assert run.status == ConsensusRun.Status.DONE, run.error
    items = list(rnd.items.order_by("order"))
    everyone = {r.item_id: r for r in ItemResult.objects.filter(round=rnd, group_key="all")}
    top, bottom = everyone[items[0].pk], everyone[items[1].pk]
    assert (top.pct_low, top.pct_mid, top.pct_high) == (0, 0, 100)
    assert (bottom.pct_low, bottom.pct_mid, bottom.pct_high) == (100, 0, 0)
    for row in everyone.values():
        assert row.pct_low + row.pct_high == pytest.approx(100) and row.pct_mid == 0
        hist = [row.histogram[str(v)] for v in range(1, 10)]
        assert Scale(1, 9, ((1, 6), (7, 9))).band_percentages(hist) == pytest.approx(
            [row.pct_low, row.pct_high]
        )
    decisions = {d.item_id: d.verdict for d in ItemDecision.objects.filter(round=rnd)}
    assert decisions[items[0].pk] == "in" and decisions[items[1].pk] == "out"
