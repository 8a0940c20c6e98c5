"""Run the API with uvicorn."""

from __future__ import annotations

import uvicorn

from ionledger.api.app import create_app
from ionledger.settings import Settings


def run_server(settings: Settings, *, host: str, port: int) -> None:
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
