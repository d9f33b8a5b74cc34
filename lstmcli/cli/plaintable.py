"""A table of short, single-line cells drawn segment by segment, the same characters and styles as
Rich's ``Table`` draws it, for the gate tables of ``inspect``.

Rich lays out every cell of a ``Table`` through its general machinery (measuring, padding, wrapping),
about 0.1 ms a cell: the six gate tables of a window (some 2,000 cells) took longer than reading the
model and tracing it. Cells that are one line of plain characters need none of that. Anything else
(a table wider than the console, a title that would wrap, a wide or control character) is drawn
by Rich's own ``Table``; tests/test_plaintable.py holds both equal, styles included.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions
    from rich.segment import Segment

Cell = tuple[str, str]  # (text, style name or "")


class PlainTable:
    """Rows of ``(text, style)`` cells under ``headers``; ``justify`` per column ("left" or "right").
    Drawn as ``rich.table.Table(title=title, title_justify="left")`` with those columns and cells
    (``Text(text, style=style)``) would be."""

    def __init__(self, title: str, headers: Sequence[str], justify: Sequence[str], rows: list[list[Cell]]):
        self.title, self.headers, self.justify, self.rows = title, list(headers), list(justify), rows

    def rich_table(self) -> Any:
        from rich.table import Table
        from rich.text import Text

        table = Table(title=self.title, title_justify="left")
        for header, just in zip(self.headers, self.justify, strict=True):
            table.add_column(header, justify=just)  # type: ignore[arg-type]
        for row in self.rows:
            table.add_row(*[Text(text, style=style) for text, style in row])
        return table

    def _widths(self) -> list[int] | None:
        """Each column's width, or None when a cell is not plain one-line ASCII (Rich then draws)."""
        widths = [len(h) for h in self.headers]
        for row in self.rows:
            for k, (text, _) in enumerate(row):
                widths[k] = max(widths[k], len(text))
        cells = [self.title, *self.headers, *(text for row in self.rows for text, _ in row)]
        if not all(text.isascii() and text.isprintable() for text in cells[1:]):
            return None
        return widths

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[Any]:
        from rich.cells import cell_len
        from rich.segment import Segment

        widths = self._widths()
        total = None if widths is None else sum(widths) + 3 * len(widths) + 1
        title_ok = self.title.isprintable() and "\n" not in self.title
        if total is None or total > options.max_width or not title_ok or cell_len(self.title) > total:
            yield self.rich_table()
            return
        assert widths is not None
        style = console.get_style
        new_line = Segment.line()
        yield Segment(self.title + " " * (total - cell_len(self.title)), style("table.title"))
        yield new_line
        yield Segment("┏" + "┳".join("━" * (w + 2) for w in widths) + "┓")
        yield new_line
        header = style("table.header")
        yield Segment("┃")
        for k, (text, w) in enumerate(zip(self.headers, widths, strict=True)):
            yield from (Segment(" ", header), Segment(self._fit(text, w, k), header), Segment(" ", header))
            yield Segment("┃")
        yield new_line
        yield Segment("┡" + "╇".join("━" * (w + 2) for w in widths) + "┩")
        yield new_line
        for row in self.rows:
            yield from self._row(row, widths, style, Segment)
            yield new_line
        yield Segment("└" + "┴".join("─" * (w + 2) for w in widths) + "┘")
        yield new_line

    def _fit(self, text: str, width: int, column: int) -> str:
        return text.rjust(width) if self.justify[column] == "right" else text.ljust(width)

    def _row(self, row: list[Cell], widths: list[int], style: Any, segment: type[Segment]) -> Iterator[Any]:
        yield segment("│")
        for k, ((text, name), w) in enumerate(zip(row, widths, strict=True)):
            yield segment(" ")
            yield segment(self._fit(text, w, k), style(name)) if name else segment(self._fit(text, w, k))
            yield segment(" │")
