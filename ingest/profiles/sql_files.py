"""The shop schema files (``schema.sql`` of the canonical shop and of every profile, and the
profiles' ``fill.sql``): statements split by ``-- section: name`` markers and by the semicolons
that end a line. Here, beside the profiles, because both the profiles and the shop read them.
"""

from __future__ import annotations

import re

_SECTION = re.compile(r"^-- section: (\w+)\s*$", re.MULTILINE)


def split_sections(text: str) -> dict[str, list[str]]:
    """A schema file's statements by its ``-- section: name`` markers, in file order."""
    parts = _SECTION.split(text)
    return {
        name: split_statements(body) for name, body in zip(parts[1::2], parts[2::2], strict=True)
    }


def split_statements(text: str) -> list[str]:
    """Split SQL on the semicolons that end a line, keeping $$-quoted bodies whole."""
    statements: list[str] = []
    current: list[str] = []
    in_body = False
    for line in text.splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("--")):
            continue
        current.append(line)
        in_body ^= line.count("$$") % 2 == 1
        if not in_body and line.rstrip().endswith(";"):
            statements.append("\n".join(current).strip())
            current = []
    if any(line.strip() and not line.lstrip().startswith("--") for line in current):
        raise ValueError("schema.sql: unterminated statement at the end of a section")
    return statements
