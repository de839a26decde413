"""Reads with long `IN (...)` lists go in chunks of at most `IN_LIST_MAX` values.

MariaDB turns a list of 1,000 values or more (`in_predicate_conversion_threshold`) into a join
that reads every row of the shop in the index, not only the ones asked for; a locking read then
also waits on every row another transaction holds.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

IN_LIST_MAX = 500

T = TypeVar("T")


def chunks(values: Sequence[T], size: int = IN_LIST_MAX) -> Iterator[Sequence[T]]:
    """`values` in consecutive slices of at most `size`."""
    for start in range(0, len(values), size):
        yield values[start : start + size]
