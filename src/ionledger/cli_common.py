"""What every command module of the CLI shares: consoles, the --db option, errors."""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from ionledger.errors import IonLedgerError
from ionledger.settings import Settings

console = Console()
err = Console(stderr=True)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL (sqlite:///PATH or postgresql://...). "
        "Default: $IONLEDGER_DATABASE_URL, else sqlite:///ionledger.db.",
    ),
]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        help="Act as the holder of this bearer token (default: $IONLEDGER_TOKEN, else as the "
        "node operator, who reads everything).",
    ),
]


def settings_of(db: str | None) -> Settings:
    return Settings.from_env(database_url=db)


def token_of(token: str | None) -> str | None:
    return token or os.environ.get("IONLEDGER_TOKEN") or None


def fail(exc: IonLedgerError) -> typer.Exit:
    err.print(f"[red]error[/red] {escape(f'[{exc.code}]')} {escape(exc.message)}")
    return typer.Exit(1 if exc.status < 500 else 2)
