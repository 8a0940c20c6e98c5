"""Shared fixtures: reference data and PostgreSQL are skipped when absent, unless required."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ionledger.store.port import EventStore

ROOT = Path(__file__).resolve().parent.parent
REFDATA = ROOT.parent / "shared" / "refdata"


def _require(var: str) -> bool:
    return os.environ.get(var, "") == "1"


def need_refdata(*parts: str) -> Path:
    """Path under ../shared/refdata; skips if absent (fails with IONLEDGER_REQUIRE_REFDATA=1)."""
    path = REFDATA.joinpath(*parts)
    if not path.exists():
        reason = f"reference data not found at {path}"
        if _require("IONLEDGER_REQUIRE_REFDATA"):
            pytest.fail(reason + " (IONLEDGER_REQUIRE_REFDATA=1)")
        pytest.skip(reason)
    return path


@pytest.fixture
def refdata() -> Path:
    return need_refdata()


PG_URL = os.environ.get("IONLEDGER_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _pg_unavailable() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        return f"PostgreSQL not reachable at {PG_URL}: {exc}"
    return None


def need_pg() -> None:
    reason = _pg_unavailable()
    if reason:
        if _require("IONLEDGER_REQUIRE_PG"):
            pytest.fail(reason + " (IONLEDGER_REQUIRE_PG=1)")
        pytest.skip(reason)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    need_pg()
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test using this runs once per backend (the one abstract suite)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def store(store_url: str) -> Iterator[EventStore]:
    from ionledger.store.open import init_store

    s = init_store(store_url)
    yield s
    s.close()


def operator_headers(store: EventStore) -> dict[str, str]:
    """Authorization headers of a fresh operator credential (reads and writes everything)."""
    from ionledger.governance.credentials import OPERATOR, issue

    token = issue(store, OPERATOR, ["admin"], expires_days=None, label="tests").token
    return {"Authorization": f"Bearer {token}"}


# The generator tests' shared fleets (session-scoped: generated once for both test modules).
from generator_kit import aged, clean, large  # noqa: E402, F401
