"""The log over HTTP, read the way a tlog-tiles client reads it: checkpoint, tiles, entries."""

from __future__ import annotations

import base64
import io
import json
import time
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from factory import code, document, lifecycle
from ionledger.api.app import create_app
from ionledger.ledger.bundle import verify_bundle
from ionledger.ledger.checkpoint import Checkpoint, open_checkpoint
from ionledger.ledger.merkle import (
    inclusion_proof,
    leaf_hash,
    node_hash,
    tree_root,
    verify_consistency,
)
from ionledger.ledger.note import Signer
from ionledger.ledger.tiles import tile_path
from ionledger.services.importer import Importer
from ionledger.services.log import Checkpointer
from ionledger.settings import Settings
from ionledger.store.port import EventStore


def _import(store: EventStore, packs: int, checkpointer: Checkpointer | None) -> list[str]:
    events: list[dict[str, Any]] = []
    for i in range(packs):
        events += lifecycle(code("P"), [code("M")], start_day=1 + i % 20)
    importer = Importer(store, Settings(database_url=store.url), checkpointer=checkpointer)
    assert importer.import_stream(io.BytesIO(json.dumps(document(events)).encode())).ok
    return [e["eventID"] for e in events]


class HttpTiles:
    """A HashSource over served tiles only, as a tlog-tiles client computes it: the tile at
    level L holds tree level 8L; levels in between are hashed up from the tile's hashes."""

    def __init__(self, client: TestClient, size: int) -> None:
        self.client, self.size, self.fetched = client, size, 0

    def tile(self, level: int, index: int) -> bytes:
        count = self.size >> (8 * level)
        width = 256 if index < count >> 8 else count % 256
        response = self.client.get("/log/" + tile_path(level, index, width))
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/octet-stream"
        self.fetched += 1
        return response.content

    def perfect(self, level: int, index: int) -> bytes:
        tile_level, height = divmod(level, 8)
        first = index << height  # the first hash at tree level 8L below this node
        data = self.tile(tile_level, first >> 8)
        hashes = [
            data[i * 32 : i * 32 + 32] for i in range(first % 256, first % 256 + (1 << height))
        ]
        while len(hashes) > 1:
            hashes = [node_hash(hashes[i], hashes[i + 1]) for i in range(0, len(hashes), 2)]
        return hashes[0]


@pytest.fixture
def node(store: EventStore) -> tuple[EventStore, Signer, list[str]]:
    signer = Signer.generate("ionledger.local")
    checkpointer = Checkpointer(store, signer, interval=3600)
    ids = _import(store, 10, checkpointer) + _import(store, 50, checkpointer)  # 70, then 420
    return store, signer, ids


def test_a_tiles_client_reads_and_checks_the_log(
    node: tuple[EventStore, Signer, list[str]],
) -> None:
    store, signer, ids = node
    settings = Settings(database_url=store.url)
    with TestClient(create_app(settings, store=store, signer=signer)) as client:
        response = client.get("/log/checkpoint")
        assert response.headers["content-type"].startswith("text/plain")
        assert "max-age=2" in response.headers["cache-control"]
        checkpoint = open_checkpoint(response.text, signer.verifier())
        assert checkpoint.size == 420
        assert client.get("/log/key").text.strip() == signer.verifier().vkey()

        tiles = HttpTiles(client, checkpoint.size)
        assert tree_root(checkpoint.size, tiles) == checkpoint.root
        for index in (0, 1, 255, 256, 300, 419):
            proof = client.get(f"/events/{quote(ids[index], safe='')}/proof").json()
            assert proof["leafIndex"] == index
            assert proof["inclusionProof"] == [
                base64.b64encode(h).decode() for h in inclusion_proof(index, checkpoint.size, tiles)
            ]
            assert verify_bundle(proof, signer.verifier()).tree_size == 420

        # Entry bundles hash to the level-0 tiles.
        bundle = client.get("/log/tile/entries/001.p/164").content
        leaves, pos = [], 0
        while pos < len(bundle):
            n = int.from_bytes(bundle[pos : pos + 2], "big")
            leaves.append(leaf_hash(bundle[pos + 2 : pos + 2 + n]))
            pos += 2 + n
        level0 = client.get("/log/tile/0/001.p/164").content
        assert b"".join(leaves) == level0
        assert len(client.get("/log/tile/entries/000").content) > 256 * 2
        assert "immutable" in client.get("/log/tile/0/000").headers["cache-control"]


def test_proofs_and_consistency_over_http(node: tuple[EventStore, Signer, list[str]]) -> None:
    store, signer, ids = node
    with TestClient(create_app(Settings(database_url=store.url), store=store, signer=signer)) as c:
        old = c.get(f"/events/{quote(ids[5], safe='')}/proof", params={"size": 70}).json()
        assert old["treeSize"] == 70
        assert verify_bundle(old, signer.verifier()).leaf_index == 5
        body = c.get("/log/consistency", params={"from": 70, "to": 420}).json()
        first, second = (open_checkpoint(n, signer.verifier()) for n in body["checkpoints"])
        proof = [base64.b64decode(h) for h in body["consistencyProof"]]
        verify_consistency(70, 420, first.root, second.root, proof)
        assert isinstance(first, Checkpoint)

        problems = {
            "/log/consistency?from=400&to=70": 400,
            "/log/consistency?from=0&to=9999": 400,
            f"/events/{quote(ids[5], safe='')}/proof?size=71": 404,
            "/events/urn%3Auuid%3Anone/proof": 404,
            "/log/tile/0/002": 404,
            "/log/tile/0/001": 404,  # not full yet
            "/log/tile/0/001.p/200": 404,
            "/log/tile/01/000": 400,
            "/log/tile/0/1": 400,
            "/log/tile/0/000.p/256": 400,
            "/log/tile/entries/005": 404,
        }
        for path, status in problems.items():
            response = c.get(path)
            assert response.status_code == status, (path, response.text)
            if status == 400 and "tile" in path:
                assert response.headers["content-type"] == "application/problem+json"
                assert response.json()["detail"]


def test_the_server_signs_what_arrives_between_imports(store: EventStore) -> None:
    signer = Signer.generate("ionledger.local")
    settings = Settings(database_url=store.url, checkpoint_interval=0.2)
    with TestClient(create_app(settings, store=store, signer=signer)) as client:
        _import(store, 2, None)  # captured without a checkpoint of its own
        deadline = time.monotonic() + 10
        size = -1
        while time.monotonic() < deadline and size != 14:
            time.sleep(0.1)
            response = client.get("/log/checkpoint")
            if response.status_code == 200:
                size = open_checkpoint(response.text, signer.verifier()).size
        assert size == 14
