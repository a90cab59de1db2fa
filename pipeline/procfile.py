"""Procfile parsing: `type: command` lines (pure logic)."""
import re

LINE = re.compile(r"^([A-Za-z0-9_-]+):\s*(.+)$")


def parse(text: str) -> dict[str, str]:
    types = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = LINE.match(line)
        if match:
            types[match.group(1)] = match.group(2).strip()
    return types


def render(types: dict[str, str]) -> str:
    return "".join(f"{name}: {command}\n" for name, command in types.items())
