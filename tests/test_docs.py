"""Docs that cannot drift: the README's CLI reference is the real --help; __all__ is curated."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import ionledger
from conftest import ROOT

COMMANDS = [
    "",
    "init",
    "generate",
    "import",
    "trace",
    "rebuild",
    "validate",
    "convert",
    "hash",
    "checkpoint",
    "log-key",
    "proof",
    "verify-proof",
    "verify",
    "demo",
    "serve",
    "registry",
    "token",
    "alerts",
    "rules",
    "sim",
    "report",
    "export",
    "epr",
]
START, END = "<!-- cli-start -->", "<!-- cli-end -->"


def help_text(command: str) -> str:
    env = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"}
    args = [sys.executable, "-m", "ionledger", *([command] if command else []), "--help"]
    out = subprocess.run(args, env=env, capture_output=True, text=True, check=True).stdout
    return "\n".join(line.rstrip() for line in out.strip().splitlines())


def cli_reference() -> str:
    blocks = []
    for command in COMMANDS:
        title = f"ionledger {command}".strip()
        blocks.append(f"### `{title}`\n\n```text\n{help_text(command)}\n```\n")
    return "\n".join(blocks)


def test_readme_cli_reference_matches_help() -> None:
    """Regenerate with: IONLEDGER_UPDATE_README=1 pytest tests/test_docs.py"""
    readme = ROOT / "README.md"
    text = readme.read_text()
    expected = f"{START}\n{cli_reference()}{END}"
    current = re.search(f"{START}.*?{END}", text, re.S)
    assert current is not None, "README has no CLI reference markers"
    if os.environ.get("IONLEDGER_UPDATE_README") == "1":
        readme.write_text(text.replace(current.group(0), expected))
        return
    assert current.group(0) == expected, "README CLI reference is stale: see this test's docstring"


def test_every_command_is_documented() -> None:
    listed = set(re.findall(r"│ (\w[\w-]*) +", help_text("")))
    assert listed == {c for c in COMMANDS if c}


def test_public_api_is_curated() -> None:
    assert ionledger.__all__ == sorted(ionledger.__all__)
    for name in ionledger.__all__:
        assert hasattr(ionledger, name), name
