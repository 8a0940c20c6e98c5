"""Signed capture (non-repudiation): an enterprise with a registered Ed25519 key signs each
capture document; the node verifies it before reading the document and keeps it whole with
its signature and the seq range of the events it added."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi.testclient import TestClient

from factory import code, document
from governance_kit import ENTERPRISES, commission, register, registry_changes
from ionledger.api.app import create_app
from ionledger.errors import ValidationError
from ionledger.governance.credentials import issue
from ionledger.governance.registry import RegistryChange
from ionledger.services.registry import change_registry
from ionledger.settings import Settings
from ionledger.store.port import EventStore

KEY = Ed25519PrivateKey.generate()
PUBLIC = base64.b64encode(KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def _with_key(store: EventStore, enterprise: str, key: str) -> None:
    [put] = [
        c for c in registry_changes() if c.op == "enterprise.put" and c.data["id"] == enterprise
    ]
    change_registry(
        store, [RegistryChange("enterprise.put", {**put.data, "signingKey": key})], actor="t"
    )


@pytest.fixture
def node(store: EventStore) -> Iterator[tuple[TestClient, EventStore, dict[str, str]]]:
    register(store)
    _with_key(store, "BM", PUBLIC)
    auth = {
        who: {"Authorization": f"Bearer {issue(store, who, ['capture', 'read']).token}"}
        for who in ("BM", "VM")
    }
    with TestClient(create_app(Settings(database_url=store.url), store=store)) as client:
        yield client, store, auth


def _body(n: int = 2) -> bytes:
    return json.dumps(
        document([commission("BM", [code(maker="03H")], 2) for _ in range(n)])
    ).encode()


def _sign(body: bytes, key: Ed25519PrivateKey = KEY) -> dict[str, str]:
    return {"Ion-Signature": "ed25519 " + base64.b64encode(key.sign(body)).decode()}


def test_a_signed_document_is_kept_with_its_signature(
    node: tuple[TestClient, EventStore, dict[str, str]],
) -> None:
    client, store, auth = node
    body = _body(3)
    before = store.count_events()
    posted = client.post("/capture", content=body, headers={**auth["BM"], **_sign(body)})
    assert posted.status_code == 202, posted.text
    job = client.get(posted.headers["Location"], headers=auth["BM"]).json()
    assert job["success"]
    assert job["ion:signed"]
    assert job["ion:stored"] == 3
    evidence = client.get(posted.headers["Location"] + "/signature", headers=auth["BM"]).json()
    assert base64.b64decode(evidence["body"]) == body  # the bytes as signed
    assert evidence["publicKey"] == PUBLIC
    assert evidence["enterprise"] == "BM"
    assert (evidence["firstSeq"], evidence["lastSeq"]) == (before, before + 2)
    # Anyone holding the registered key can check it again, offline.
    KEY.public_key().verify(base64.b64decode(evidence["signature"]), body)
    assert (
        client.get(posted.headers["Location"] + "/signature", headers=auth["VM"]).status_code == 403
    )


@pytest.mark.parametrize(
    "header",
    [
        None,  # BM registered a key: it must sign
        "ed25519 " + base64.b64encode(b"\0" * 64).decode(),  # a signature of nothing
        "rsa abc",  # another scheme
        "ed25519 not-base64!",
    ],
)
def test_a_missing_or_bad_signature_stores_nothing(
    node: tuple[TestClient, EventStore, dict[str, str]], header: str | None
) -> None:
    client, store, auth = node
    body, before = _body(), store.count_events()
    headers = {**auth["BM"], **({"Ion-Signature": header} if header else {})}
    refused = client.post("/capture", content=body, headers=headers)
    assert refused.status_code == 400, refused.text
    assert refused.json()["rule"] == "access.bad-signature"
    assert store.count_events() == before


def test_a_signature_over_other_bytes_or_by_another_key_fails(
    node: tuple[TestClient, EventStore, dict[str, str]],
) -> None:
    client, store, auth = node
    body, before = _body(), store.count_events()
    tampered = body.replace(b"NMC622", b"LFP\0\0\0")
    for headers in (_sign(body), _sign(tampered, Ed25519PrivateKey.generate())):
        refused = client.post("/capture", content=tampered, headers={**auth["BM"], **headers})
        assert refused.status_code == 400
        assert "does not verify" in refused.json()["detail"]
    assert store.count_events() == before


def test_an_enterprise_without_a_key_need_not_sign_and_cannot(
    node: tuple[TestClient, EventStore, dict[str, str]],
) -> None:
    client, _, auth = node
    body = json.dumps(document([commission("VM", [code(maker="03H")], 2)])).encode()
    refused = client.post("/capture", content=body, headers={**auth["VM"], **_sign(body)})
    assert refused.status_code == 400
    assert "no signingKey" in refused.json()["detail"]


def test_a_registered_key_must_be_an_ed25519_public_key(store: EventStore) -> None:
    register(store)
    with pytest.raises(ValidationError, match="32-byte Ed25519"):
        _with_key(store, "BM", base64.b64encode(b"short").decode())
    assert "BM" in ENTERPRISES
