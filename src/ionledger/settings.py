"""Settings: read from the environment at the edges (CLI, API) and passed down as one object."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATABASE_URL = "sqlite:///ionledger.db"
DEFAULT_KEY_FILE = "ionledger-log.key"


# Environment variable -> (setting, parser).
_ENVIRONMENT: dict[str, tuple[str, Callable[[str], object]]] = {
    "IONLEDGER_DATABASE_URL": ("database_url", str),
    "IONLEDGER_NODE_NAME": ("node_name", str),
    "IONLEDGER_BATCH_SIZE": ("batch_size", int),
    "IONLEDGER_LOG_KEY": ("log_key", str),
    "IONLEDGER_LOG_KEY_FILE": ("log_key_file", str),
    "IONLEDGER_CHECKPOINT_INTERVAL": ("checkpoint_interval", float),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    node_name: str = "ionledger.local"  # this node's name: the log's origin and key name
    batch_size: int = 5_000  # events per write batch (and per commit with --proceed)
    log_key: str | None = None  # the log's signer key text (PRIVATE+KEY+...), if given inline
    log_key_file: str | None = None  # else the file holding it (see key_file)
    checkpoint_interval: float = 10.0  # seconds between checkpoints under continuous capture
    # The governance rules on capture. Off only in benchmarks that measure what they cost: a
    # store written without them has no alerts and no access data for those events.
    rules: bool = True

    def key_file(self) -> Path:
        """The log key's file: as set, else beside a SQLite database, else in the working dir."""
        if self.log_key_file:
            return Path(self.log_key_file)
        prefix = "sqlite:///"
        if self.database_url.startswith(prefix) and ":memory:" not in self.database_url:
            return Path(self.database_url[len(prefix) :] + ".key")
        return Path(DEFAULT_KEY_FILE)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """IONLEDGER_DATABASE_URL, _NODE_NAME, _BATCH_SIZE, _LOG_KEY, _LOG_KEY_FILE,
        _CHECKPOINT_INTERVAL; overrides win."""
        env = os.environ if env is None else env
        values: dict[str, object] = {
            name: parse(env[variable])
            for variable, (name, parse) in _ENVIRONMENT.items()
            if variable in env
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
