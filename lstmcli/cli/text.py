"""Text for the terminal: whatever comes from a file or the command line is shown, never obeyed.

Column names, paths and metadata strings may hold Rich markup (``[/b]``, ``[bold red]``) or control
characters (``\\x1b[2J``, ``\\x07``). Two rules keep them inert, so that new code is safe by default:

- the consoles (``console``) read no markup and no emoji codes, and write every control character of a
  string as an escape (``\\x1b``); a plain ``str`` handed to ``print``, a table cell, a title or a rule is
  shown exactly as it is;
- intentional style comes from ``rich.text.Text`` objects or a ``style=`` argument, never from markup;
  ``styled`` builds such a ``Text`` with the same escaping. (A ``Text`` built by hand is shown as it
  is: give it only lstmcli's own words, or pass user text through ``printable`` first.)

Errors and warnings that bypass Rich go through ``printable`` as well (``common.fail``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

# C0 and C1 control characters, DEL, and the bidirectional overrides that reorder what a line shows
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_UNPRINTABLE_BUT_NEWLINE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object, *, keep_newlines: bool = False) -> str:
    """``text`` with every control character written as an escape (``\\x1b``, ``\\x07``, ``\\u202e``)."""
    pattern = _UNPRINTABLE_BUT_NEWLINE if keep_newlines else _UNPRINTABLE
    return pattern.sub(_escape, str(text))


def shell(word: object) -> str:
    """A path or a series id as a command line to copy takes it: quoted when a shell would split or
    expand it ('São Paulo 🚀', a path with spaces), as it is otherwise."""
    import shlex

    return shlex.quote(str(word))


def styled(*parts: str | tuple[str, str]) -> Text:
    """A ``Text`` from plain parts and ``(text, style)`` pairs, each shown as text (escaped, no markup)."""
    from rich.text import Text

    return Text.assemble(
        *(
            (printable(p[0], keep_newlines=True), p[1])
            if isinstance(p, tuple)
            else printable(p, keep_newlines=True)
            for p in parts
        )
    )


_CONSOLE_CLASS: Any = None


def console(*, stderr: bool = False, **options: Any) -> Console:
    """A Rich console that shows strings as text: no markup, no emoji codes, control characters escaped
    (``options`` go to ``rich.console.Console``, e.g. ``file`` and ``width`` in tests)."""
    global _CONSOLE_CLASS
    if _CONSOLE_CLASS is None:
        from rich.console import Console

        class TextConsole(Console):
            def render_str(self, text: str, **kwargs: Any) -> Text:
                # every str renderable (print arguments, table cells, titles, rules) passes here
                return super().render_str(printable(text, keep_newlines=True), **kwargs)

        _CONSOLE_CLASS = TextConsole
    return _CONSOLE_CLASS(stderr=stderr, highlight=False, markup=False, emoji=False, **options)  # type: ignore[no-any-return]
