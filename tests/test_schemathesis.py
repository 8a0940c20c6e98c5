"""Property-based tests of the whole HTTP API against its own OpenAPI document (schemathesis):
a fixed number of generated requests per operation, and not one may end in a 5xx."""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path

import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from factory import code, document, lifecycle
from ionledger.api.app import create_app
from ionledger.governance.credentials import OPERATOR, issue
from ionledger.ledger.note import Signer
from ionledger.services.importer import Importer
from ionledger.services.log import Checkpointer
from ionledger.settings import Settings
from ionledger.store.open import init_store

EXAMPLES_PER_OPERATION = 25


TOKEN: list[str] = []  # the operator's token for the store _app seeds


def _app() -> FastAPI:
    """An app over a small seeded store (each call of the schema opens it through lifespan);
    requests carry the operator's token, so they reach the handlers rather than stopping at
    401."""
    url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='ionledger-st-')) / 'api.db'}"
    store = init_store(url)
    signer = Signer.generate("ionledger.local")
    events = []
    for day in range(1, 4):
        events += lifecycle(code("P"), [code("M")], start_day=day)
    importer = Importer(
        store, Settings(database_url=url), checkpointer=Checkpointer(store, signer, interval=60)
    )
    importer.import_stream(io.BytesIO(json.dumps(document(events)).encode()))
    TOKEN.append(issue(store, OPERATOR, ["admin"], label="schemathesis").token)
    store.close()
    return create_app(Settings(database_url=url), signer=signer)


schema = schemathesis.openapi.from_asgi("/openapi.json", _app())


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_request_ends_in_a_server_error(case: schemathesis.Case) -> None:
    response = case.call(headers={"Authorization": f"Bearer {TOKEN[0]}"})
    case.validate_response(response, checks=[not_a_server_error])
