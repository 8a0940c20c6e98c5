"""Open a store from a URL, and create or migrate its schema (Alembic, both databases)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine

from ionledger.errors import IonLedgerError, NotFound, StoreError
from ionledger.store.port import EventStore
from ionledger.store.sql import SqlStore

MIGRATIONS = Path(__file__).parent / "migrations"
HEAD = "0009"


def normalise_url(url: str) -> str:
    """Accept plain paths and postgres URLs; give SQLAlchemy URLs with the drivers we use."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith(("postgresql+psycopg://", "sqlite://")):
        return url
    if "://" in url:
        raise StoreError(f"unsupported database URL {url!r}: use sqlite:///PATH or postgresql://")
    return f"sqlite:///{url}"


def _sqlite_path(sa_url: str) -> Path | None:
    path = sa_url.removeprefix("sqlite:///")
    return None if path in ("", ":memory:") or path.startswith("file:") else Path(path)


def open_store(url: str, *, require_schema: bool = True) -> EventStore:
    """The store at ``url``, which must be initialised (see :func:`init_store`) unless
    ``require_schema`` is false."""
    sa_url = normalise_url(url)
    not_ready = NotFound(f"no ionledger store at {url}: create it with `ionledger init --db {url}`")
    store: EventStore
    try:
        if sa_url.startswith("sqlite"):
            from ionledger.store.sqlite import SqliteStore

            path = _sqlite_path(sa_url)
            if require_schema and path is not None and not path.exists():
                raise not_ready  # and do not leave an empty file behind
            store = SqliteStore(sa_url)
        else:
            from ionledger.store.postgres import PostgresStore

            store = PostgresStore(sa_url)
        if require_schema and revision(store) is None:
            store.close()
            raise not_ready
        return store
    except IonLedgerError:
        raise
    except Exception as exc:  # driver errors, translated at the boundary
        raise StoreError(f"cannot open store {url!r}: {exc}") from exc


def _engine(store: EventStore) -> Engine:
    if not isinstance(store, SqlStore):  # both adapters are; a future one must bring migrations
        raise StoreError(f"{type(store).__name__} has no SQL schema to migrate")
    return store.engine


def migrate(store: EventStore) -> None:
    """Create or upgrade the schema to the newest revision."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    try:
        with _engine(store).begin() as conn:
            cfg.attributes["connection"] = conn  # env.py migrates on this connection
            command.upgrade(cfg, "head")
    except IonLedgerError:
        raise
    except Exception as exc:
        raise StoreError(f"migrating {store.url!r} failed: {exc}") from exc


def revision(store: EventStore) -> str | None:
    with _engine(store).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def init_store(url: str) -> EventStore:
    store = open_store(url, require_schema=False)
    migrate(store)
    return store
