"""Pure Delphi consensus statistics (pandas/numpy/scipy, no Django).

    from delphi.consensus.stats import Scale, compute_round
    result = compute_round(ratings, previous, scale=Scale.parse("1-9"),
                           definition={"preset": "comet", "scope": "all"})
    result.items, result.stability, result.concordance, result.decisions

Every definition, with its source, is in docs/statistics.md.
"""

from delphi.consensus.stats.compute import (
    ALL,
    BALANCED,
    CONCORDANCE_COLUMNS,
    DECISION_COLUMNS,
    ITEM_COLUMNS,
    STABILITY_COLUMNS,
    RoundResult,
    compute_round,
)
from delphi.consensus.stats.quantiles import NUMPY_METHOD, QUANTILE_TYPES
from delphi.consensus.stats.scale import DEFAULT_BANDS, Scale

__all__ = [
    "ALL",
    "BALANCED",
    "CONCORDANCE_COLUMNS",
    "DECISION_COLUMNS",
    "DEFAULT_BANDS",
    "ITEM_COLUMNS",
    "NUMPY_METHOD",
    "QUANTILE_TYPES",
    "STABILITY_COLUMNS",
    "RoundResult",
    "Scale",
    "compute_round",
]
