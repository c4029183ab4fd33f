"""The rating scale: its integer range and its three bands (low, middle, high)."""

from __future__ import annotations

import re
from dataclasses import dataclass

Band = tuple[int, int]

# Bands used in the Delphi literature for the common scales (GRADE 1-9, Likert 1-5 and 1-7).
DEFAULT_BANDS: dict[tuple[int, int], tuple[Band, Band, Band]] = {
    (1, 9): ((1, 3), (4, 6), (7, 9)),
    (1, 5): ((1, 2), (3, 3), (4, 5)),
    (1, 7): ((1, 3), (4, 4), (5, 7)),
}

_RANGE = re.compile(r"^\s*(-?\d+)\s*(?:-|\.\.|–)\s*(-?\d+)\s*$")


def _thirds(lo: int, hi: int) -> tuple[Band, Band, Band]:
    # For a scale without a published convention: three bands as equal as possible, the
    # middle band taking the remainder so that low and high stay symmetric.
    k = hi - lo + 1
    side = k // 3 if k % 3 != 1 else (k - 1) // 3
    side = max(side, 1)
    low = (lo, lo + side - 1)
    high = (hi - side + 1, hi)
    mid = (low[1] + 1, high[0] - 1)
    return low, mid, high


@dataclass(frozen=True)
class Scale:
    min: int
    max: int
    bands: tuple[Band, Band, Band] | None = None

    def __post_init__(self):
        if int(self.min) != self.min or int(self.max) != self.max:
            raise ValueError("The scale's ends must be whole numbers.")
        if self.max - self.min < 2:
            raise ValueError(
                f"A scale needs at least three points; {self.min}-{self.max} has "
                f"{self.max - self.min + 1}."
            )
        bands = self.bands
        if bands is None:
            bands = DEFAULT_BANDS.get((self.min, self.max)) or _thirds(self.min, self.max)
        bands = tuple((int(a), int(b)) for a, b in bands)
        if len(bands) != 3:
            raise ValueError("A scale has exactly three bands: low, middle and high.")
        for a, b in bands:
            if a > b or a < self.min or b > self.max:
                raise ValueError(
                    f"Band {a}-{b} is not inside the scale {self.min}-{self.max} or runs backwards."
                )
        (la, lb), (ma, mb), (ha, hb) = bands
        if not (lb < ma and mb < ha):
            raise ValueError("Bands must be in order (low, middle, high) and must not overlap.")
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
    def low(self) -> Band:
        return self.bands[0]

    @property
    def mid(self) -> Band:
        return self.bands[1]

    @property
    def high(self) -> Band:
        return self.bands[2]

    @property
    def is_ram(self) -> bool:
        """The RAND/UCLA measures (AI centred on 5, IPRAS) are defined on a 1-9 scale only."""
        return self.min == 1 and self.max == 9

    def __str__(self) -> str:
        return f"{self.min}-{self.max}"

    def to_dict(self) -> dict:
        return {"min": self.min, "max": self.max, "bands": [list(b) for b in self.bands]}
