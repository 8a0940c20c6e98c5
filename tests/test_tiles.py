"""Tiles in the C2SP tlog-tiles layout, the incremental tiled tree, and proofs read from tiles."""

from __future__ import annotations

import hashlib
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ionledger.errors import IntegrityError, ValidationError
from ionledger.ledger.merkle import (
    LeafHashes,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    range_root,
    tree_root,
)
from ionledger.ledger.tiles import (
    TILE_WIDTH,
    Tile,
    TiledTree,
    TileSource,
    entry_bundle,
    index_path,
    parse_index_path,
    parse_level,
    tile_path,
)


def leaves(n: int, salt: int = 0) -> list[bytes]:
    return [leaf_hash(f"{salt}:{i}".encode()) for i in range(n)]


def grow(hashes: list[bytes], cuts: list[int]) -> tuple[TiledTree, dict[tuple[int, int], Tile]]:
    """Append in batches split at ``cuts``; return the tree and the latest version of each tile."""
    tree = TiledTree()
    stored: dict[tuple[int, int], Tile] = {}
    start = 0
    for cut in [*cuts, len(hashes)]:
        for tile in tree.append(hashes[start:cut]):
            stored[(tile.level, tile.index)] = tile
        start = cut
    return tree, stored


def test_tile_hashes_follow_the_spec_formula() -> None:
    """Tile n at level l holds MTH(D[(n*256+i)*256**l : (n*256+i+1)*256**l]) (tlog-tiles)."""
    hashes = leaves(256 * 256 + 300)
    source = LeafHashes(hashes)
    _, stored = grow(hashes, [1000, 40_000])
    for (level, index), tile in stored.items():
        span = TILE_WIDTH**level
        for i in range(tile.width):
            lo = (index * TILE_WIDTH + i) * span
            assert tile.node(0, i) == range_root(lo, lo + span, source), (level, index, i)


def test_the_spec_example_of_a_tree_of_70000() -> None:
    """tlog-tiles: 273 full level-0 tiles, a partial of 112, one full level-1 tile, a partial
    level-1 tile of 17 and a partial level-2 tile of 1."""
    _, stored = grow(leaves(70_000), [12_345])
    widths: dict[int, list[int]] = {}
    for (level, _index), tile in sorted(stored.items()):
        widths.setdefault(level, []).append(tile.width)
    assert widths[0] == [256] * 273 + [112]
    assert widths[1] == [256, 17]
    assert widths[2] == [1]
    assert set(widths) == {0, 1, 2}


def test_a_tree_of_256_has_a_full_tile_and_a_partial_level_1_tile() -> None:
    _, stored = grow(leaves(256), [])
    assert sorted((k, t.width) for k, t in stored.items()) == [((0, 0), 256), ((1, 0), 1)]


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 3000), st.lists(st.integers(0, 3000), max_size=6))
def test_any_batching_gives_the_same_tiles(size: int, cuts: list[int]) -> None:
    hashes = leaves(size)
    one_tree, one = grow(hashes, [])
    many_tree, many = grow(hashes, sorted(c for c in cuts if c <= size))
    assert one == many
    assert one_tree.size == many_tree.size == size
    assert one_tree.edge() == many_tree.edge()


def test_a_tree_resumes_from_its_stored_edge() -> None:
    """A writer restarts from the partial tiles alone (what it reads back from the store)."""
    hashes = leaves(70_000)
    _first, stored = grow(hashes[:33_333], [])
    resumed = TiledTree([t for t in stored.values() if not t.full])
    assert resumed.size == 33_333
    for tile in resumed.append(hashes[33_333:]):
        stored[(tile.level, tile.index)] = tile
    _, whole = grow(hashes, [])
    assert stored == whole


def test_an_edge_that_does_not_fit_its_size_is_refused() -> None:
    _, stored = grow(leaves(600), [])
    edge = [t for t in stored.values() if not t.full]
    level0 = next(t for t in edge if t.level == 0)
    wrong = Tile(0, level0.index + 1, level0.hashes, level0.interior)
    with pytest.raises(IntegrityError, match="does not fit"):
        TiledTree([wrong, *[t for t in edge if t.level != 0]])


@pytest.mark.parametrize("size", [1, 2, 255, 256, 257, 1000, 65_536, 65_537, 70_000])
def test_proofs_from_tiles_equal_proofs_from_leaves(size: int) -> None:
    hashes = leaves(size)
    _, stored = grow(hashes, [size // 3])
    reads: list[tuple[int, int]] = []

    def fetch(level: int, index: int) -> Tile | None:
        reads.append((level, index))
        return stored.get((level, index))

    tiles, plain = TileSource(fetch), LeafHashes(hashes)
    assert tree_root(size, tiles) == tree_root(size, plain)
    rng = random.Random(size)
    for _ in range(40):
        index = rng.randrange(size)
        assert inclusion_proof(index, size, tiles) == inclusion_proof(index, size, plain)
        first = rng.randrange(size + 1)
        assert consistency_proof(first, size, tiles) == consistency_proof(first, size, plain)
    assert len(set(reads)) <= len(stored)  # cached: each tile read at most once here


def test_every_perfect_subtree_hash_comes_from_tiles() -> None:
    size = 256 * 3 + 77
    hashes = leaves(size)
    _, stored = grow(hashes, [100])
    tiles, plain = TileSource(lambda lv, ix: stored.get((lv, ix))), LeafHashes(hashes)
    level = 0
    while (1 << level) <= size:
        for index in range(size >> level):
            assert tiles.perfect(level, index) == plain.perfect(level, index), (level, index)
        level += 1


def test_a_missing_or_narrow_tile_is_an_integrity_error() -> None:
    _, stored = grow(leaves(300), [])
    narrow = dict(stored)
    edge = narrow[(0, 1)]
    narrow[(0, 1)] = Tile(0, 1, edge.hashes[:32], b"")
    source = TileSource(lambda lv, ix: narrow.get((lv, ix)))
    with pytest.raises(IntegrityError, match="tile 0/1"):
        source.perfect(0, 299)
    with pytest.raises(IntegrityError, match="missing"):
        TileSource(lambda lv, ix: None).perfect(3, 0)


@pytest.mark.parametrize(
    ("index", "path"),
    [(0, "000"), (7, "007"), (999, "999"), (1000, "x001/000"), (1234067, "x001/x234/067")],
)
def test_index_paths(index: int, path: str) -> None:
    assert index_path(index) == path
    assert parse_index_path(path) == (index, TILE_WIDTH)
    assert parse_index_path(path + ".p/17") == (index, 17)


def test_tile_paths() -> None:
    assert tile_path(0, 1234067) == "tile/0/x001/x234/067"
    assert tile_path(2, 5, 17) == "tile/2/005.p/17"
    assert tile_path("entries", 0, 3) == "tile/entries/000.p/3"


@pytest.mark.parametrize(
    ("path", "fragment"),
    [
        ("1", "three-digit"),
        ("0001", "three-digit"),
        ("001/002", "three-digit"),
        ("x000/001", "leading zero"),
        ("001.p/0", "1 to 255"),
        ("001.p/256", "1 to 255"),
        ("001.p/07", "1 to 255"),
        ("001.p/", "1 to 255"),
        ("x1/001", "three-digit"),
    ],
)
def test_bad_index_paths_say_why(path: str, fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        parse_index_path(path)


@pytest.mark.parametrize("text", ["", "01", "64", "-1", "a", "1.0"])
def test_bad_levels(text: str) -> None:
    with pytest.raises(ValidationError, match="tile level"):
        parse_level(text)


def test_entry_bundles_are_uint16_length_prefixed() -> None:
    assert entry_bundle([b"ab", b"", b"xyz"]) == b"\x00\x02ab\x00\x00\x00\x03xyz"
    with pytest.raises(ValueError, match="65,535"):
        entry_bundle([b"x" * 65_536])


def test_interior_hashes_make_the_tile_root() -> None:
    hashes = leaves(256)
    _, stored = grow(hashes, [])
    tile = stored[(0, 0)]
    assert tile.root() == tree_root(256, LeafHashes(hashes))
    assert stored[(1, 0)].hashes == tile.root()
    assert hashlib.sha256(b"\x01" + tile.node(7, 0) + tile.node(7, 1)).digest() == tile.root()
