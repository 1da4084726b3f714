"""Half-open integer intervals [start, end): the kind a scheduler or a byte-range cache keeps."""

from dataclasses import dataclass
from typing import Iterable, List


@dataclass(frozen=True, order=True)
class Interval:
    start: int
    end: int

    def __post_init__(self):
        if self.end < self.start:
            raise ValueError(f"interval ends before it starts: [{self.start}, {self.end})")

    def __len__(self) -> int:
        return self.end - self.start

    def overlaps(self, other: "Interval") -> bool:
        return self.start < other.end and other.start < self.end


def merge(intervals: Iterable[Interval]) -> List[Interval]:
    """The union as sorted, disjoint intervals; touching ones ([1, 3) and [3, 5)) join."""
    out: List[Interval] = []
    for iv in sorted(intervals):
        if len(iv) == 0:
            continue
        if out and iv.start <= out[-1].end:
            out[-1] = Interval(out[-1].start, max(out[-1].end, iv.end))
        else:
            out.append(iv)
    return out


def intersect(a: Iterable[Interval], b: Iterable[Interval]) -> List[Interval]:
    """What both sets cover, as sorted, disjoint intervals."""
    left, right = merge(a), merge(b)
    out: List[Interval] = []
    i = j = 0
    while i < len(left) and j < len(right):
        start = max(left[i].start, right[j].start)
        end = min(left[i].end, right[j].end)
        if start < end:
            out.append(Interval(start, end))
        if left[i].end < right[j].end:
            i += 1
        else:
            j += 1
    return out


def total_length(intervals: Iterable[Interval]) -> int:
    """How much the intervals cover, overlaps counted once."""
    return sum(len(iv) for iv in merge(intervals))
