"""The compiled scanner (guard/_fastscan.c, an optional extension built by `pip install`), or None.

Where it is missing (no compiler at install time, Spaces), the numpy code paths give the same answers,
more slowly; `hearth doctor` says so. Callers read `fastscan.compiled` at call time, so a test can
set it to None to run the numpy paths.
"""

from __future__ import annotations

__all__ = ["compiled", "built"]

try:
    from guard import _fastscan as compiled
except ImportError:  # not built: the numpy paths run
    compiled = None


def built() -> bool:
    return compiled is not None
