"""The rating scale: its integer range and its bands (one to five, covering the scale).

The result columns keep their three meanings whatever the number of bands: ``pct_low`` is the
bottom band, ``pct_high`` the top band and ``pct_mid`` everything between them. With the 1-9
default (1-3 / 4-6 / 7-9) that is exactly the three bands it always had; with two bands the
middle is empty (0 %); with one band there is no bottom or top band (``pct_low`` and
``pct_high`` are undefined, ``pct_mid`` holds every rating), and the definitions that compare
the top and bottom bands refuse such a scale.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

Band = tuple[int, int]

MAX_BANDS = 5
# The summary measures and the bands each one counts (see Scale.summary_bands).
SUMMARY_MEASURES = ("pct_low", "pct_mid", "pct_high")

# Bands used in the Delphi literature for the common scales (GRADE 1-9, Likert 1-5 and 1-7).
DEFAULT_BANDS: dict[tuple[int, int], tuple[Band, ...]] = {
    (1, 9): ((1, 3), (4, 6), (7, 9)),
    (1, 5): ((1, 2), (3, 3), (4, 5)),
    (1, 7): ((1, 3), (4, 4), (5, 7)),
}

_RANGE = re.compile(r"^\s*(-?\d+)\s*(?:-|\.\.|–)\s*(-?\d+)\s*$")


def _thirds(lo: int, hi: int) -> tuple[Band, ...]:
    # For a scale without a published convention: three bands as equal as possible, the
    # middle band taking the remainder so that low and high stay symmetric. A two-point
    # scale has no middle: one band per point.
    k = hi - lo + 1
    if k == 2:
        return (lo, lo), (hi, hi)
    side = k // 3 if k % 3 != 1 else (k - 1) // 3
    side = max(side, 1)
    low = (lo, lo + side - 1)
    high = (hi - side + 1, hi)
    mid = (low[1] + 1, high[0] - 1)
    return low, mid, high


def band_text(band: Band) -> str:
    a, b = band
    return f"{a}-{b}" if a != b else f"{a}"


@dataclass(frozen=True)
class Scale:
    min: int
    max: int
    bands: tuple[Band, ...] | None = None

    def __post_init__(self):
        if int(self.min) != self.min or int(self.max) != self.max:
            raise ValueError("The scale's ends must be whole numbers.")
        if self.max - self.min < 1:
            raise ValueError(
                f"A scale needs at least two points; {self.min}-{self.max} has "
                f"{max(self.max - self.min + 1, 0)}."
            )
        bands = self.bands
        if bands is None:
            bands = DEFAULT_BANDS.get((self.min, self.max)) or _thirds(self.min, self.max)
        bands = tuple((int(a), int(b)) for a, b in bands)
        if not 1 <= len(bands) <= MAX_BANDS:
            raise ValueError(f"A scale has one to {MAX_BANDS} bands, not {len(bands)}.")
        for i, (a, b) in enumerate(bands, start=1):
            if a > b or a < self.min or b > self.max:
                raise ValueError(
                    f"Band {i} ({a}-{b}) is not inside the scale {self.min}-{self.max} or "
                    "runs backwards."
                )
        for i, ((_, b), (c, _)) in enumerate(zip(bands, bands[1:], strict=False), start=1):
            if c <= b:
                raise ValueError(
                    f"Bands {i} and {i + 1} are out of order or overlap: list them from the "
                    "bottom of the scale up, each starting after the previous one ends."
                )
        object.__setattr__(self, "bands", bands)

    @classmethod
    def parse(cls, text: str, bands=None) -> Scale:
        """'1-9' -> Scale(1, 9) with the default bands (or the bands given)."""
        m = _RANGE.match(str(text))
        if not m:
            raise ValueError(f"{text!r} is not a scale; write it as MIN-MAX, for example 1-9.")
        return cls(int(m.group(1)), int(m.group(2)), bands)

    @property
    def k(self) -> int:
        """Number of scale points."""
        return self.max - self.min + 1

    @property
    def values(self) -> list[int]:
        return list(range(self.min, self.max + 1))

    @property
    def has_ends(self) -> bool:
        """Whether there is a bottom band distinct from the top band (two bands or more)."""
        return len(self.bands) >= 2

    @property
    def has_middle(self) -> bool:
        """Whether any band lies between the bottom and the top band (three bands or more)."""
        return len(self.bands) >= 3

    @property
    def low(self) -> Band:
        return self.bands[0]

    @property
    def mid(self) -> Band | None:
        """Everything between the bottom and the top band, as one range (None if empty)."""
        if not self.has_middle:
            return None
        return self.bands[1][0], self.bands[-2][1]

    @property
    def high(self) -> Band:
        return self.bands[-1]

    def summary_bands(self) -> dict[str, Band | None]:
        """The value range each of pct_low / pct_mid / pct_high counts; None = undefined.

        pct_mid is everything strictly between the bottom and the top band (an empty range,
        counted as 0 %, when there are only two bands)."""
        if not self.has_ends:
            return {"pct_low": None, "pct_mid": (self.min, self.max), "pct_high": None}
        return {
            "pct_low": self.bands[0],
            "pct_mid": (self.bands[0][1] + 1, self.bands[-1][0] - 1),
            "pct_high": self.bands[-1],
        }

    def band_counts(self, hist: np.ndarray) -> np.ndarray:
        """(..., K) histograms -> (..., bands) counts per band."""
        hist = np.asarray(hist)
        return np.stack(
            [hist[..., a - self.min : b - self.min + 1].sum(axis=-1) for a, b in self.bands],
            axis=-1,
        )

    def band_percentages(self, hist) -> list[float | None]:
        """One histogram (counts per scale value) -> the percentage in every band."""
        hist = np.asarray(hist, dtype=np.int64)
        counts, n = self.band_counts(hist), int(hist.sum())
        return [None if n == 0 else 100.0 * int(c) / n for c in counts]

    @property
    def is_ram(self) -> bool:
        """The RAND/UCLA measures (AI centred on 5, IPRAS) are defined on a 1-9 scale only."""
        return self.min == 1 and self.max == 9

    def __str__(self) -> str:
        return f"{self.min}-{self.max}"

    def to_dict(self) -> dict:
        return {"min": self.min, "max": self.max, "bands": [list(b) for b in self.bands]}
