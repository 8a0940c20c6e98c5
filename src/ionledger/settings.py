"""Settings: read from the environment at the edges (CLI, API) and passed down as one object."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_DATABASE_URL = "sqlite:///ionledger.db"


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    node_name: str = "ionledger.local"  # this node's name (the log's origin line, later)
    batch_size: int = 5_000  # events per write batch (and per commit with --proceed)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """IONLEDGER_DATABASE_URL, IONLEDGER_NODE_NAME, IONLEDGER_BATCH_SIZE; overrides win."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        if "IONLEDGER_DATABASE_URL" in env:
            values["database_url"] = env["IONLEDGER_DATABASE_URL"]
        if "IONLEDGER_NODE_NAME" in env:
            values["node_name"] = env["IONLEDGER_NODE_NAME"]
        if "IONLEDGER_BATCH_SIZE" in env:
            values["batch_size"] = int(env["IONLEDGER_BATCH_SIZE"])
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
