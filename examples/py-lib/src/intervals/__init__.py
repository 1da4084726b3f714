"""intervals: merge, intersect and measure half-open integer intervals [start, end)."""

__version__ = "1.0.0"

from intervals.core import Interval, merge, intersect, total_length

__all__ = ["Interval", "merge", "intersect", "total_length", "__version__"]
