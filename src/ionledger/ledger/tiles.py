"""The tree as C2SP tlog-tiles: 256 hashes per tile, tile level L holding tree level 8L.

A tile at level L, index N holds the Merkle Tree Hashes of the perfect subtrees of 256**L leaves
numbered N*256 .. N*256+255 (tlog-tiles §Merkle Tree). Each stored tile also keeps its
*interior*: the hashes at tree levels 8L+1 .. 8L+7 between its hashes and its root, so that a
proof takes one tile read per tile level and no hashing of stored data. The tile bytes served to
clients are exactly ``hashes``; the interior is ours.

Interior layout: for j = 1..7, the floor(width / 2**j) hashes at tree level 8L+j, in order,
concatenated (a partial tile has only the complete ones).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache

from ionledger.errors import IntegrityError, ValidationError
from ionledger.ledger.merkle import HASH_SIZE, node_hash

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
MAX_LEVEL = 63


@dataclass(frozen=True, slots=True)
class Tile:
    level: int
    index: int
    hashes: bytes  # width * 32 bytes: the tlog-tiles tile itself
    interior: bytes  # tree levels 8L+1 .. 8L+7 (see the module docstring)
    width: int = field(init=False, compare=False)
    _offsets: tuple[int, ...] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        width = len(self.hashes) // HASH_SIZE
        object.__setattr__(self, "width", width)
        object.__setattr__(self, "_offsets", _offsets(width))

    @property
    def full(self) -> bool:
        return self.width == TILE_WIDTH

    def root(self) -> bytes:
        """The hash this full tile contributes to the tile level above."""
        top = interior_offset(self.width, TILE_HEIGHT - 1)
        return node_hash(self.interior[top : top + HASH_SIZE], self.interior[top + HASH_SIZE :])

    def node(self, height: int, position: int) -> bytes:
        """The hash at ``height`` (0..7) above this tile's hashes, ``position`` from its left."""
        if height == 0:
            start = position * HASH_SIZE
            return self.hashes[start : start + HASH_SIZE]
        start = self._offsets[height] + position * HASH_SIZE
        return self.interior[start : start + HASH_SIZE]


@cache
def _offsets(width: int) -> tuple[int, ...]:
    return tuple(HASH_SIZE * sum(width >> j for j in range(1, h)) for h in range(TILE_HEIGHT + 1))


def interior_offset(width: int, height: int) -> int:
    """Byte offset of tree level 8L+height (1..7) inside the interior of a tile of ``width``."""
    return _offsets(width)[height]


def build_tile(level: int, index: int, hashes: bytes, grown_from: Tile | None = None) -> Tile:
    """A tile over ``hashes``, reusing the interior of the narrower tile it grew from."""
    width = len(hashes) // HASH_SIZE
    old_width = grown_from.width if grown_from is not None else 0
    rows: list[bytes] = [hashes]
    for height in range(1, TILE_HEIGHT):
        below = rows[-1]
        kept = (
            grown_from.interior[
                interior_offset(old_width, height) : interior_offset(old_width, height + 1)
            ]
            if grown_from is not None
            else b""
        )
        parts = [kept]
        for i in range(old_width >> height, width >> height):
            left = below[2 * i * HASH_SIZE : (2 * i + 1) * HASH_SIZE]
            right = below[(2 * i + 1) * HASH_SIZE : (2 * i + 2) * HASH_SIZE]
            parts.append(node_hash(left, right))
        rows.append(b"".join(parts))
    return Tile(level, index, hashes, b"".join(rows[1:]))


class TiledTree:
    """The growing right edge of the tree: the partial tile of each level, as stored.

    ``append`` takes leaf hashes and returns every tile it created or widened, in the order to
    store them; full tiles never change again.
    """

    def __init__(self, edge: Iterable[Tile] = ()) -> None:
        self._edge: dict[int, Tile] = {}
        for tile in edge:
            if tile.full or tile.width == 0:
                raise IntegrityError("an edge tile must be partial", where=_where(tile))
            self._edge[tile.level] = tile
        self.size = sum(t.width << (TILE_HEIGHT * t.level) for t in self._edge.values())
        for tile in self._edge.values():  # each partial tile must sit where the size says
            if tile.index != self.size >> (TILE_HEIGHT * (tile.level + 1)):
                raise IntegrityError(f"does not fit a tree of {self.size}", where=_where(tile))

    def edge(self) -> list[Tile]:
        return [self._edge[level] for level in sorted(self._edge)]

    def append(self, leaf_hashes: Sequence[bytes]) -> list[Tile]:
        written: list[Tile] = []
        incoming = b"".join(leaf_hashes)
        level = 0
        while incoming:
            roots: list[bytes] = []
            partial = self._edge.pop(level, None)
            index = (self.size >> (TILE_HEIGHT * level)) >> TILE_HEIGHT
            buffer = (partial.hashes if partial is not None else b"") + incoming
            step = TILE_WIDTH * HASH_SIZE
            for start in range(0, len(buffer), step):
                chunk = buffer[start : start + step]
                tile = build_tile(level, index, chunk, partial if start == 0 else None)
                written.append(tile)
                if tile.full:
                    roots.append(tile.root())
                    index += 1
                else:
                    self._edge[level] = tile
            incoming = b"".join(roots)
            level += 1
        self.size += len(leaf_hashes)
        return written


class TileSource:
    """Perfect-subtree hashes read from stored tiles: a ``merkle.HashSource``.

    Tiles are cached; a cached partial tile too narrow for a request is read again, since tiles
    only ever grow and the hashes they already hold never change.
    """

    def __init__(self, fetch: Callable[[int, int], Tile | None], *, cache: int = 2048) -> None:
        self._fetch = fetch
        self._cache: dict[tuple[int, int], Tile] = {}
        self._limit = cache
        self.range_cache: dict[tuple[int, int], bytes] = {}  # see merkle.range_root

    def tile(self, level: int, index: int, width: int) -> Tile:
        key = (level, index)
        tile = self._cache.get(key)
        if tile is not None and tile.width >= width:
            return tile  # the hot path: upper tiles are read once and stay
        tile = self._fetch(level, index)
        if tile is None or tile.width < width:
            have = "missing" if tile is None else f"only {tile.width} wide"
            raise IntegrityError(
                f"needed {width} hashes, tile is {have}", where=f"tile {level}/{index}"
            )
        if len(self._cache) >= self._limit:
            self._cache.pop(next(iter(self._cache)))  # oldest first; hot tiles return soon
        self._cache[key] = tile
        return tile

    def perfect(self, level: int, index: int) -> bytes:
        # Called some 30 times per proof: the cache lookup and the slicing are inlined.
        tile_level, height = divmod(level, TILE_HEIGHT)
        shift = TILE_HEIGHT - height
        tile_index = index >> shift
        position = index - (tile_index << shift)
        tile = self._cache.get((tile_level, tile_index))
        if tile is None or tile.width < (position + 1) << height:
            tile = self.tile(tile_level, tile_index, (position + 1) << height)
        start = position * HASH_SIZE
        if height == 0:
            return tile.hashes[start : start + HASH_SIZE]
        start += tile._offsets[height]
        return tile.interior[start : start + HASH_SIZE]


def _where(tile: Tile) -> str:
    return f"tile {tile.level}/{tile.index}"


# -- paths (tlog-tiles §Merkle Tree, §Log entries) --------------------------------------------
_INDEX = re.compile(r"^(?:x\d{3}/)*\d{3}$")


def index_path(index: int) -> str:
    """1234067 -> 'x001/x234/067': three-digit elements, all but the last prefixed with x."""
    if index < 0:
        raise ValueError(f"tile index {index} is negative")
    parts = []
    while True:
        index, rest = divmod(index, 1000)
        parts.append(f"{rest:03d}")
        if index == 0:
            break
    return "/".join(["x" + p for p in reversed(parts[1:])] + [parts[0]])


def tile_path(level: int | str, index: int, width: int = TILE_WIDTH) -> str:
    """'tile/L/N' for a full tile, 'tile/L/N.p/W' for a partial one; level 'entries' for bundles."""
    suffix = "" if width == TILE_WIDTH else f".p/{width}"
    return f"tile/{level}/{index_path(index)}{suffix}"


def parse_index_path(path: str) -> tuple[int, int]:
    """'x001/x234/067[.p/W]' -> (index, width); width 256 when not partial."""
    body, dot, partial = path.partition(".p/")
    if not _INDEX.match(body):
        raise ValidationError(
            f"tile index {body!r}: expected three-digit path elements, all but the last"
            " prefixed with 'x' (e.g. x001/x234/067)"
        )
    parts = body.replace("x", "").split("/")
    if len(parts) > 1 and parts[0] == "000":
        raise ValidationError(f"tile index {body!r}: leading zero element")
    index = int("".join(parts))
    if not dot:
        return index, TILE_WIDTH
    if not re.fullmatch(r"[1-9]\d{0,2}", partial) or int(partial) >= TILE_WIDTH:
        raise ValidationError(f"partial tile width {partial!r}: expected 1 to 255")
    return index, int(partial)


def parse_level(text: str) -> int:
    if not re.fullmatch(r"0|[1-9]\d?", text) or int(text) > MAX_LEVEL:
        raise ValidationError(f"tile level {text!r}: expected 0 to {MAX_LEVEL}, no leading zeros")
    return int(text)


def entry_bundle(entries: Iterable[bytes]) -> bytes:
    """Entries as tlog-tiles serves them: each prefixed by its big-endian uint16 length."""
    out = bytearray()
    for entry in entries:
        if len(entry) > 0xFFFF:
            raise ValueError(f"log entry of {len(entry)} bytes exceeds the 65,535-byte limit")
        out += len(entry).to_bytes(2, "big") + entry
    return bytes(out)
