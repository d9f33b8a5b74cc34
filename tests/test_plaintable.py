"""The gate tables drawn segment by segment (lstmcli/cli/plaintable.py) are what Rich's own Table
draws for the same cells: the same characters, and the same escape codes when styled."""

from __future__ import annotations

import io

import numpy as np
import pytest
from rich.console import Console

from lstmcli.cli.plaintable import PlainTable
from lstmcli.cli.render import gate_table

STYLES = ["", "bold blue", "blue", "white", "red", "bold red"]


def draw(renderable, width: int, color: bool) -> str:
    console = Console(
        file=io.StringIO(), width=width, force_terminal=color, color_system="truecolor" if color else None
    )
    console.print(renderable)
    return console.file.getvalue()


def random_table(rng: np.random.Generator, title: str, n_rows: int, n_cols: int) -> PlainTable:
    headers = ["step", *[f"u{int(u)}" for u in rng.integers(0, 200, n_cols)]]
    rows = [
        [(str(np.datetime64("2000-01-01") + int(rng.integers(0, 9000))), "")]
        + [(f"{v:.2f}", STYLES[int(rng.integers(0, len(STYLES)))]) for v in rng.normal(0, 3, n_cols)]
        for _ in range(n_rows)
    ]
    return PlainTable(title, headers, ["left"] + ["right"] * n_cols, rows)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("color", [False, True])
def test_a_plain_table_draws_what_richs_table_draws(seed, color):
    rng = np.random.default_rng(seed)
    title = ["forget gate f — share of the old memory kept (1 = keep all)", "c", "x" * 90][seed % 3]
    table = random_table(rng, title, int(rng.integers(0, 30)), int(rng.integers(1, 14)))
    for width in (40, 80, 120, 200):  # too narrow (Rich draws, wrapping), and wide enough
        assert draw(table, width, color) == draw(table.rich_table(), width, color), (seed, width)


def test_a_table_that_fits_is_drawn_without_richs_table():
    from rich.segment import Segment

    table = random_table(np.random.default_rng(0), "forget gate f", 24, 12)
    console = Console(file=io.StringIO(), width=120)
    assert all(isinstance(s, Segment) for s in table.__rich_console__(console, console.options))


def test_cells_that_are_not_plain_one_line_text_are_left_to_rich():
    table = PlainTable("t", ["step", "u0"], ["left", "right"], [[("two\nlines", ""), ("é", "red")]])
    assert draw(table, 80, True) == draw(table.rich_table(), 80, True)


def test_the_gate_table_shows_each_value_with_two_decimals_in_its_colour():
    values = np.array([[0.0, 0.5], [1.0, 0.251]], dtype=np.float32)
    lines = draw(gate_table("f", values, ["t-1", "t"], [1, 0]), 80, False).splitlines()
    text = [line.split() for line in lines if line[:1] in "┃│"]
    assert text == [
        ["┃", "step", "┃", "u1", "┃", "u0", "┃"],
        ["│", "t-1", "│", "0.50", "│", "0.00", "│"],
        ["│", "t", "│", "0.25", "│", "1.00", "│"],
    ]
