"""Split a T-SQL script into the batches a client sends one by one.

`GO` is not T-SQL: it is the batch separator of sqlcmd and SSMS, and ODBC or
TDS drivers reject it. A line is a separator only when, outside any comment,
string literal or bracketed identifier, it holds nothing but `GO` (any case),
optionally followed by a repeat count (`GO 3`) and a trailing `--` comment.
`GOTO label`, `go` inside a string and `GO` inside a `/* */` block (which
T-SQL lets nest) are left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_GO_LINE = re.compile(r"^[ \t]*go(?:[ \t]+(\d+))?[ \t]*(?:--.*)?$", re.IGNORECASE)


@dataclass(frozen=True)
class Batch:
    sql: str
    start_line: int  # 1-based line of the script where the batch begins


def _scan_state(line: str, state: tuple[str | None, int]) -> tuple[str | None, int]:
    """Carry the lexical state (open quote char or block-comment depth) across one line."""
    quote, depth = state
    i, n = 0, len(line)
    while i < n:
        ch = line[i]
        nxt = line[i + 1] if i + 1 < n else ""
        if depth:
            if ch == "/" and nxt == "*":
                depth, i = depth + 1, i + 2
            elif ch == "*" and nxt == "/":
                depth, i = depth - 1, i + 2
            else:
                i += 1
        elif quote:
            closing = "]" if quote == "[" else quote
            if ch == closing:
                if nxt == closing:  # doubled quote is an escaped quote
                    i += 2
                else:
                    quote, i = None, i + 1
            else:
                i += 1
        elif ch == "-" and nxt == "-":
            break  # rest of the line is a comment
        elif ch == "/" and nxt == "*":
            depth, i = 1, i + 2
        elif ch in ("'", '"', "["):
            quote, i = ch, i + 1
        else:
            i += 1
    return quote, depth


def split_batches(script: str) -> list[Batch]:
    """Return the non-empty batches of `script`, each with its starting line."""
    batches: list[Batch] = []
    current: list[str] = []
    start = 1
    state: tuple[str | None, int] = (None, 0)
    lines = script.replace("\r\n", "\n").split("\n")
    for number, line in enumerate(lines, start=1):
        match = _GO_LINE.match(line) if state == (None, 0) else None
        if match:
            body = "\n".join(current)
            if body.strip():
                for _ in range(int(match.group(1) or 1)):
                    batches.append(Batch(body, start))
            current, start = [], number + 1
            continue
        current.append(line)
        state = _scan_state(line, state)
    body = "\n".join(current)
    if body.strip():
        batches.append(Batch(body, start))
    return batches
