"""Reading the staged reference data (``../shared/refdata/domain/*.csv``) and the package tables.

The reference data is never copied into the repository: it is read at run time from the folder
given by ``IONLEDGER_REFDATA`` (read only by :func:`default_refdata`, at the edges), else from the
first ``shared/refdata`` found above the package or the working directory. A missing file is a
:class:`~ionledger.errors.ConfigurationError` that names it.

The package's own tables (``policy/data/*.csv``) hold what the reference data lacks (provincial
splits, segment and chemistry mixes), each row with its source.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

from ionledger.errors import ConfigurationError

ENV_VAR = "IONLEDGER_REFDATA"
Row = dict[str, str]


def default_refdata(environ: Mapping[str, str] | None = None) -> Path:
    """The reference-data folder: ``$IONLEDGER_REFDATA``, else ``shared/refdata`` beside the repo.

    Returns a path even when nothing is found there, so that the first read names the file it
    missed (with how to point at the data).
    """
    env = os.environ if environ is None else environ
    if env.get(ENV_VAR):
        return Path(env[ENV_VAR])
    for start in (Path(__file__).resolve(), Path.cwd().resolve()):
        for parent in start.parents:
            candidate = parent / "shared" / "refdata"
            if (candidate / "domain").is_dir():
                return candidate
    return Path.cwd() / ".." / "shared" / "refdata"


def read_refdata(refdata: Path, name: str) -> list[Row]:
    """Rows of ``refdata/domain/<name>`` as dicts (values as text)."""
    path = refdata / "domain" / name
    if not path.is_file():
        raise ConfigurationError(
            f"reference data file not found: {path} (set {ENV_VAR} to the folder holding "
            f"domain/{name}, e.g. ../shared/refdata)"
        )
    return _rows(path.read_text(encoding="utf-8"))


def read_package_table(name: str) -> list[Row]:
    """Rows of the package table ``ionledger/policy/data/<name>``."""
    text = (
        resources.files("ionledger.policy")
        .joinpath("data")
        .joinpath(name)
        .read_text(encoding="utf-8")
    )
    return _rows(text)


def _rows(text: str) -> list[Row]:
    return [dict(row) for row in csv.DictReader(text.splitlines())]


def by_key(rows: list[Row], key: str) -> dict[str, Row]:
    return {row[key]: row for row in rows}


def number(text: str) -> float:
    """A figure as printed in the tables: '12,866' or '~60000' or '0.9'."""
    return float(text.replace(",", "").replace("~", "").strip())


def slashed(text: str) -> list[float]:
    """'9.5/8.5/8' -> [9.5, 8.5, 8.0] (the lifetime table's way of listing values)."""
    return [number(part) for part in text.split("/")]


def find_row(rows: list[Row], column: str, prefix: str, *, file: str) -> Row:
    """The first row whose ``column`` starts with ``prefix``; a clear error when none does."""
    for row in rows:
        if row[column].startswith(prefix):
            return row
    raise ConfigurationError(f"reference data {file}: no row whose {column} starts with {prefix!r}")
