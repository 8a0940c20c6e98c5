"""The rules for optional test dependencies: skip with a reason, or fail when required."""

from __future__ import annotations

import pytest

import conftest


def test_missing_refdata_skips_unless_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IONLEDGER_REQUIRE_REFDATA", raising=False)
    with pytest.raises(pytest.skip.Exception, match="reference data not found"):
        conftest.need_refdata("no-such-folder")
    monkeypatch.setenv("IONLEDGER_REQUIRE_REFDATA", "1")
    with pytest.raises(pytest.fail.Exception, match="IONLEDGER_REQUIRE_REFDATA=1"):
        conftest.need_refdata("no-such-folder")


def test_unreachable_postgres_skips_unless_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conftest, "PG_URL", "postgresql://nobody@127.0.0.1:1/none")
    monkeypatch.delenv("IONLEDGER_REQUIRE_PG", raising=False)
    with pytest.raises(pytest.skip.Exception, match="PostgreSQL not reachable"):
        conftest.need_pg()
    monkeypatch.setenv("IONLEDGER_REQUIRE_PG", "1")
    with pytest.raises(pytest.fail.Exception, match="IONLEDGER_REQUIRE_PG=1"):
        conftest.need_pg()
