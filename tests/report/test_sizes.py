"""Sizes as a report shows them: a figure a reader can trust next to a limit."""

from __future__ import annotations

import pytest

from repolicy.report.model import exact_size, human_size

MiB = 1024 * 1024


@pytest.mark.parametrize(
    ("size", "shown"),
    [
        (0, "0 Bytes"),
        (1, "1 Byte"),
        (1023, "1023 Bytes"),
        (1024, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (100 * MiB, "100.0 MiB"),
        (120_000_000, "114.4 MiB"),  # the benchmark's raw checkpoint
        (5 * 1024**3, "5.0 GiB"),
    ],
)
def test_a_size_reads_in_the_largest_binary_unit_it_reaches(size: int, shown: str) -> None:
    assert human_size(size) == shown


@pytest.mark.parametrize("unit", [1024, MiB, 1024**3, 1024**4])
def test_a_figure_that_rounds_up_to_1024_is_shown_in_the_next_unit(unit: int) -> None:
    # One byte short of the next unit is 1023.99... of this one: '1024.0 KiB'
    # would read as more than a unit and less than the next at once.
    shown = human_size(unit * 1024 - 1)
    assert not shown.startswith("1024"), shown
    assert shown.startswith("1.0 ")


def test_every_shown_figure_is_within_rounding_of_the_size() -> None:
    units = {"KiB": 1024, "MiB": MiB, "GiB": 1024**3}
    for size in [*range(1024, 70_000, 97), *range(MiB - 5000, MiB + 5000, 13), 10**9, 3 * 10**9]:
        figure, unit = human_size(size).split()
        value = float(figure) * units[unit]
        # Half the last digit, and the float error of a half exactly at a tie.
        assert abs(value - size) <= 0.0501 * units[unit], (size, human_size(size))
        assert float(figure) < 1024


def test_a_size_at_stake_also_gives_the_exact_byte_count() -> None:
    # A rounded figure hides a blob one byte over its limit.
    assert exact_size(MiB + 1) == "1.0 MiB (1,048,577 bytes)"
    assert exact_size(999) == "999 bytes"
