"""RFC 9162 §2.1 Merkle tree math (the RFC 6962 tree): hashes, proofs and their verification.

SHA-256 throughout; a leaf hashes as SHA-256(0x00 || data), an interior node as
SHA-256(0x01 || left || right), and the empty tree as SHA-256("").

Proof *generation* reads perfect-subtree hashes from a ``HashSource`` (stored tiles, or a list in
memory) and never touches individual leaves, so a proof costs O(log size) reads at any size.
*Verification* needs no source: it recomputes the root(s) from the proof, then compares them
with the expected ones. Every verification failure, including malformed input of any type,
raises ``ProofError`` with a message that says what was wrong.

Besides RFC 9162's inclusion and consistency proofs, this module has the *subtree* proofs of
the IETF Merkle Tree Certificates draft (draft-ietf-plants-merkle-tree-certs), as implemented by
transparency-dev/merkle: inclusion in, and consistency of, a subtree [start, end), which is
valid when start is a multiple of the smallest power of two >= end - start. A subtree with
start == 0 is a whole earlier tree, so its proofs are RFC 9162's.
"""

from __future__ import annotations

import enum
import hashlib
import operator
from collections.abc import Iterable, Sequence
from typing import Final, Protocol, SupportsIndex, cast

from ionledger.errors import ProofError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MAX_SIZE",
    "CompactRange",
    "HashSource",
    "LeafHashes",
    "consistency_proof",
    "inclusion_proof",
    "is_valid_subtree",
    "leaf_hash",
    "node_hash",
    "range_root",
    "root_from_inclusion",
    "subtree_consistency_proof",
    "subtree_inclusion_proof",
    "tree_root",
    "verify_consistency",
    "verify_inclusion",
    "verify_subtree_consistency",
    "verify_subtree_inclusion",
]

HASH_SIZE: Final = 32
EMPTY_ROOT: Final = hashlib.sha256(b"").digest()
# Sizes and indices are uint64 in every tlog ecosystem; the bound also keeps every loop below
# at most 64 steps whatever a caller passes.
MAX_SIZE: Final = (1 << 64) - 1

_LEAF_PREFIX: Final = b"\x00"
_NODE_PREFIX: Final = b"\x01"


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


# -- sources of stored hashes ------------------------------------------------------------------


class HashSource(Protocol):
    def perfect(self, level: int, index: int) -> bytes:
        """MTH of the perfect subtree of 2**level leaves starting at leaf index * 2**level."""
        ...


class LeafHashes:
    """A ``HashSource`` over leaf hashes held in memory (tests, small trees).

    Every level is built once up front (n - 1 node hashes), so ``perfect`` is a lookup. The
    perfect subtrees of a prefix are those of the whole list, so one instance serves every tree
    size up to ``len(hashes)``.
    """

    def __init__(self, hashes: Sequence[bytes]) -> None:
        level = [_hash_arg(f"leaf hash {i}", h) for i, h in enumerate(hashes)]
        self._levels: list[list[bytes]] = [level]
        while len(level) > 1:
            level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
            self._levels.append(level)

    def __len__(self) -> int:
        return len(self._levels[0])

    def perfect(self, level: int, index: int) -> bytes:
        if 0 <= level < len(self._levels) and 0 <= index < len(self._levels[level]):
            return self._levels[level][index]
        raise ProofError(
            f"no perfect subtree at level {level}, index {index} among {len(self)} leaves"
        )


# -- tree hashes -------------------------------------------------------------------------------


def _split(size: int) -> int:
    """RFC 9162's k: the largest power of two smaller than size (size >= 2)."""
    return 1 << ((size - 1).bit_length() - 1)


def _bit_ceil(size: int) -> int:
    """The smallest power of two >= size (size >= 1)."""
    return 1 << (size - 1).bit_length()


def is_valid_subtree(start: int, end: int) -> bool:
    """Whether [start, end) is a subtree in the Merkle Tree Certificates draft's sense.

    That is: start is a multiple of the smallest power of two >= end - start, so the range is
    the left part of one node of every tree that contains it. Empty ranges are valid.
    """
    if not 0 <= start <= end:
        return False
    return start == end or start % _bit_ceil(end - start) == 0


def range_root(start: int, end: int, source: HashSource) -> bytes:
    """MTH(D[start:end]), splitting as RFC 9162 does; perfect pieces come from ``source``.

    Precondition: every perfect piece of the split must be aligned (a piece of 2**h leaves must
    start at a multiple of 2**h), since only aligned perfect subtrees are stored. This holds
    whenever [start, end) is a valid subtree (``is_valid_subtree``; in particular whenever
    start == 0), which covers every range a proof needs; otherwise ``ProofError`` is raised.
    Cost: one ``source.perfect`` call per set bit of end - start. An empty range is the empty
    tree.
    """
    if not 0 <= start <= end:
        raise ProofError(f"range [{start}, {end}) is not a range of leaves")
    if start == end:
        return EMPTY_ROOT
    return _range_root(start, end - start, source)


def _range_root(start: int, size: int, source: HashSource) -> bytes:
    if size & (size - 1) == 0:
        if start & (size - 1):
            raise ProofError(
                f"leaves [{start}, {start + size}) are not an aligned perfect subtree, "
                "so no stored hash covers them"
            )
        level = size.bit_length() - 1
        return source.perfect(level, start >> level)
    # A source may keep the hashes of non-perfect ranges it was asked for (``range_cache``):
    # every proof against one tree size needs the same right-border ranges, and a range's hash
    # never changes once its leaves exist.
    cache: dict[tuple[int, int], bytes] | None = getattr(source, "range_cache", None)
    if cache is not None and (hit := cache.get((start, size))) is not None:
        return hit
    k = _split(size)
    root = node_hash(_range_root(start, k, source), _range_root(start + k, size - k, source))
    if cache is not None:
        cache[(start, size)] = root
    return root


def tree_root(size: int, source: HashSource) -> bytes:
    """MTH of the first ``size`` leaves."""
    return range_root(0, size, source)


class CompactRange:
    """The right frontier of a growing tree (one perfect-subtree hash per set bit of the size):
    append leaf hashes one by one in O(1) amortised, and get the root of the tree so far."""

    __slots__ = ("_frontier", "_size")

    def __init__(self) -> None:
        self._size = 0
        self._frontier: list[bytes] = []  # largest (leftmost) subtree first

    @classmethod
    def restore(cls, size: int, frontier: Sequence[bytes]) -> CompactRange:
        """A range resumed from a saved ``size`` and ``frontier`` (e.g. after a restart)."""
        size = _uint("size", size)
        hashes = _hashes_arg("frontier", frontier)
        if len(hashes) != size.bit_count():
            raise ProofError(
                f"a frontier of size {size} has {size.bit_count()} hashes, not {len(hashes)}"
            )
        compact = cls()
        compact._size, compact._frontier = size, hashes
        return compact

    @property
    def size(self) -> int:
        return self._size

    @property
    def frontier(self) -> tuple[bytes, ...]:
        """MTH of each perfect subtree along the right edge, largest (leftmost) first."""
        return tuple(self._frontier)

    def append(self, leaf: bytes) -> None:
        """Add a leaf *hash* (not leaf data), merging the equal-sized subtrees it completes."""
        merged = _hash_arg("leaf hash", leaf)
        size = self._size
        while size & 1:  # each trailing one bit of the size is a subtree the new leaf completes
            merged = node_hash(self._frontier.pop(), merged)
            size >>= 1
        self._frontier.append(merged)
        self._size += 1

    def root(self) -> bytes:
        # RFC 9162 splits off the largest power of two on the left at every step, so the root
        # folds the frontier from the right.
        if not self._frontier:
            return EMPTY_ROOT
        root = self._frontier[-1]
        for left in reversed(self._frontier[:-1]):
            root = node_hash(left, root)
        return root


# -- proof generation --------------------------------------------------------------------------


def inclusion_proof(index: int, size: int, source: HashSource) -> list[bytes]:
    """RFC 9162 PATH(index, D[0:size]): sibling hashes from the leaf up to the root."""
    if not 0 <= index < size:
        raise ProofError(f"index {index} is not below tree size {size}")
    return _path(index, 0, size, source)


def subtree_inclusion_proof(index: int, start: int, end: int, source: HashSource) -> list[bytes]:
    """The draft's subtree inclusion proof: PATH(index - start, D[start:end])."""
    _check_subtree(start, end)
    if not start <= index < end:
        raise ProofError(f"index {index} is not in subtree [{start}, {end})")
    return _path(index, start, end, source)


def _path(index: int, lo: int, hi: int, source: HashSource) -> list[bytes]:
    # Walk down RFC 9162's split, keeping the sibling of the half that holds the leaf. Only the
    # first right sibling can be a non-perfect range; every other sibling is one stored hash.
    siblings: list[bytes] = []
    while hi - lo > 1:
        mid = lo + _split(hi - lo)
        if index < mid:
            siblings.append(_range_root(mid, hi - mid, source))
            hi = mid
        else:
            siblings.append(_range_root(lo, mid - lo, source))
            lo = mid
    siblings.reverse()  # proofs list hashes leaf-to-root
    return siblings


def consistency_proof(size1: int, size2: int, source: HashSource) -> list[bytes]:
    """RFC 9162 PROOF(size1, D[0:size2]); empty when size1 is 0 or equals size2."""
    if not 0 <= size1 <= size2:
        raise ProofError(f"no consistency proof from size {size1} to size {size2}")
    if size1 == 0:
        return []  # the empty tree is a prefix of every tree; there is nothing to prove
    return _subtree_proof(0, size1, size2, source)


def subtree_consistency_proof(start: int, end: int, size: int, source: HashSource) -> list[bytes]:
    """The draft's SUBTREE_PROOF(start, end, D[0:size]): [start, end) is part of the tree."""
    _check_subtree(start, end)
    if end > size:
        raise ProofError(f"subtree [{start}, {end}) ends beyond tree size {size}")
    if start == end:
        return []
    return _subtree_proof(start, end, size, source)


def _subtree_proof(start: int, end: int, size: int, source: HashSource) -> list[bytes]:
    # The draft's SUBTREE_SUBPROOF (RFC 9162 SUBPROOF when start == 0), iteratively: walk down
    # the split of [lo, hi) until it is the subtree itself, keeping the sibling at each step.
    # ``known``: the verifier holds MTH of the current [start, end), so it is left out.
    lo, hi, known = 0, size, True
    siblings: list[bytes] = []
    while (lo, hi) != (start, end):
        mid = lo + _split(hi - lo)
        if end <= mid:  # the subtree is in the left half
            siblings.append(_range_root(mid, hi - mid, source))
            hi = mid
        elif mid <= start:  # ... in the right half
            siblings.append(_range_root(lo, mid - lo, source))
            lo = mid
        else:  # it straddles mid, which for a valid subtree means start == lo
            siblings.append(_range_root(lo, mid - lo, source))
            lo = start = mid
            known = False
    siblings.reverse()
    return siblings if known else [_range_root(start, end - start, source), *siblings]


def _check_subtree(start: int, end: int) -> None:
    if not 0 <= start <= end:
        raise ProofError(f"[{start}, {end}) is not a range of leaves")
    if not is_valid_subtree(start, end):
        raise ProofError(
            f"[{start}, {end}) is not a valid subtree: start {start} is not a multiple of "
            f"{_bit_ceil(end - start)}"
        )


# -- verification ------------------------------------------------------------------------------


class _Step(enum.Enum):
    """How one proof hash joins the running hashes on the way up."""

    LEFT_IN = "left sibling inside the subtree: joins both the subtree and the tree root"
    LEFT_OUT = "left sibling outside the subtree: joins the tree root only"
    RIGHT = "right sibling, outside the subtree: joins the tree root only"


def _plan(start: int, end: int, size: int) -> tuple[bool, list[_Step]]:
    """The shape of the proof that non-empty valid subtree [start, end) is in a tree of size.

    Returns whether the proof's first hash is the seed (the rightmost perfect piece of the
    subtree; otherwise the seed is MTH of the subtree itself, which the verifier already has),
    and one step per following hash. This is RFC 9162 §2.1.4.2 (and §2.1.3.2 for a one-leaf
    subtree) generalised as in the Merkle Tree Certificates draft: ``first``, ``last`` and
    ``tree_last`` follow leaves start, end - 1 and size - 1 up the levels.
    """
    first, last, tree_last = start, end - 1, size - 1
    if last == tree_last:
        # The subtree ends the tree, so it is itself a node of the tree: start there.
        while first != last:
            first, last, tree_last = first >> 1, last >> 1, tree_last >> 1
    else:
        # Start at the largest perfect piece that ends the subtree.
        while first != last and last & 1:
            first, last, tree_last = first >> 1, last >> 1, tree_last >> 1
    seed_in_proof = first != last
    steps: list[_Step] = []
    while tree_last:
        if last & 1 or last == tree_last:
            # A left child on the tree's right edge has no sibling: it moves up unchanged until
            # it is a right child, whose left sibling the proof holds.
            while not last & 1:
                first, last, tree_last = first >> 1, last >> 1, tree_last >> 1
            steps.append(_Step.LEFT_IN if first < last else _Step.LEFT_OUT)
        else:
            steps.append(_Step.RIGHT)
        first, last, tree_last = first >> 1, last >> 1, tree_last >> 1
    return seed_in_proof, steps


def _fold(seed: bytes, steps: Sequence[_Step], hashes: Sequence[bytes]) -> tuple[bytes, bytes]:
    """(subtree root, tree root) recomputed from the seed and the proof hashes after it."""
    sub = tree = seed
    for step, sibling in zip(steps, hashes, strict=True):
        if step is _Step.RIGHT:
            tree = node_hash(tree, sibling)
        else:
            tree = node_hash(sibling, tree)
            if step is _Step.LEFT_IN:
                sub = node_hash(sibling, sub)
    return sub, tree


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root that ``proof`` yields for leaf hash ``leaf`` at ``index`` in a tree of ``size``."""
    index, size = _uint("index", index), _uint("tree size", size)
    if index >= size:
        raise ProofError(f"index {index} is not below tree size {size}")
    return _root_from_path(index, size, leaf, proof, f"index {index} in a tree of {size}")


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """RFC 9162 §2.1.3.2: ``leaf`` (a leaf hash) is at ``index`` in the tree of ``size``."""
    computed = root_from_inclusion(index, size, leaf, proof)
    _compare("root", computed, _hash_arg("expected root", root))


def verify_subtree_inclusion(
    index: int, start: int, end: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Leaf hash ``leaf`` is at ``index`` in the valid subtree [start, end) whose MTH is root."""
    index, start, end = _uint("index", index), _uint("start", start), _uint("end", end)
    _check_subtree(start, end)
    if not start <= index < end:
        raise ProofError(f"index {index} is not in subtree [{start}, {end})")
    where = f"index {index} in subtree [{start}, {end})"
    computed = _root_from_path(index - start, end - start, leaf, proof, where)
    _compare("subtree root", computed, _hash_arg("expected subtree root", root))


def _root_from_path(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], where: str
) -> bytes:
    leaf = _hash_arg("leaf hash", leaf)
    hashes = _hashes_arg("proof", proof)
    _, steps = _plan(index, index + 1, size)  # a leaf is a one-leaf subtree: its own seed
    _check_length(hashes, len(steps), where)
    return _fold(leaf, steps, hashes)[1]


def verify_consistency(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]
) -> None:
    """RFC 9162 §2.1.4.2: the tree of size2 with root2 extends the tree of size1 with root1.

    Edge cases, as transparency-dev/merkle and its test vectors have them: equal sizes need an
    empty proof and equal roots (compared as given: nothing is hashed, so no length rule
    applies). Size 0 needs an empty proof; the empty tree is a prefix of every tree, but its
    root is SHA-256("") by definition, so root1 must be that, and root2 must be a 32-byte hash
    (the empty-tree hash too when size2 is 0).
    """
    size1, size2 = _uint("size1", size1), _uint("size2", size2)
    root1, root2 = _bytes_arg("root1", root1), _bytes_arg("root2", root2)
    hashes = _hashes_arg("proof", proof)
    if size1 > size2:
        raise ProofError(f"size1 {size1} is greater than size2 {size2}")
    if size1 == 0:
        _check_empty_proof(hashes, "from an empty tree")
        _compare("root1 (of the empty tree)", EMPTY_ROOT, root1)
        _check_hash_length("root2", root2)
        if size2 == 0:
            _compare("root2 (of the empty tree)", EMPTY_ROOT, root2)
        return
    if size1 == size2:
        _check_empty_proof(hashes, f"between equal sizes {size1}")
        _compare("root2 (equal sizes)", root1, root2)
        return
    _consistency(0, size1, size2, root1, root2, hashes, f"sizes {size1} -> {size2}")


def verify_subtree_consistency(
    start: int, end: int, size: int, root1: bytes, root2: bytes, proof: Sequence[bytes]
) -> None:
    """The valid subtree [start, end) with MTH root1 is part of the tree of size with root2.

    Edge cases, as transparency-dev/merkle's test vectors have them: an empty subtree needs an
    empty proof and root1 == SHA-256("") (the MTH of no leaves), and is part of any tree, so
    root2 is not examined. start == 0 and end == size needs an empty proof and equal roots.
    With start == 0 this is ``verify_consistency`` from size end to size.
    """
    start, end, size = _uint("start", start), _uint("end", end), _uint("size", size)
    root1, root2 = _bytes_arg("root1", root1), _bytes_arg("root2", root2)
    hashes = _hashes_arg("proof", proof)
    _check_subtree(start, end)
    if end > size:
        raise ProofError(f"subtree [{start}, {end}) ends beyond tree size {size}")
    if start == end:
        _check_empty_proof(hashes, "for an empty subtree")
        _compare("root1 (of an empty subtree)", EMPTY_ROOT, root1)
        return
    if start == 0 and end == size:
        _check_empty_proof(hashes, "for a subtree that is the whole tree")
        _compare("root2 (the subtree is the whole tree)", root1, root2)
        return
    where = f"subtree [{start}, {end}) in a tree of {size}"
    _consistency(start, end, size, root1, root2, hashes, where)


def _consistency(
    start: int, end: int, size: int, root1: bytes, root2: bytes, hashes: list[bytes], where: str
) -> None:
    _check_hash_length("root1", root1)
    _check_hash_length("root2", root2)
    seed_in_proof, steps = _plan(start, end, size)
    _check_length(hashes, len(steps) + seed_in_proof, where)
    seed = hashes[0] if seed_in_proof else root1
    sub, tree = _fold(seed, steps, hashes[1:] if seed_in_proof else hashes)
    _compare("root1", sub, root1)
    _compare("root2", tree, root2)


# -- argument checks ---------------------------------------------------------------------------


def _uint(name: str, value: object) -> int:
    """An integer in 0..MAX_SIZE, or ProofError (bool and non-integers included)."""
    if isinstance(value, bool):
        raise ProofError(f"{name} must be an integer, not a bool")
    try:
        number = operator.index(cast(SupportsIndex, value))
    except Exception:
        raise ProofError(f"{name} must be an integer, not {type(value).__name__}") from None
    if not 0 <= number <= MAX_SIZE:
        raise ProofError(f"{name} {number} is outside 0 .. 2**64 - 1")
    return number


def _bytes_arg(name: str, value: object) -> bytes:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise ProofError(f"{name} must be bytes, not {type(value).__name__}")
    try:
        return bytes(value)
    except Exception:
        raise ProofError(f"{name} is not readable as bytes") from None


def _hash_arg(name: str, value: object) -> bytes:
    data = _bytes_arg(name, value)
    _check_hash_length(name, data)
    return data


def _check_hash_length(name: str, value: bytes) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"{name} is {len(value)} bytes, not {HASH_SIZE}")


def _hashes_arg(name: str, value: object) -> list[bytes]:
    """A sequence of 32-byte hashes, as a list."""
    wrong = f"{name} must be a sequence of hashes, not {type(value).__name__}"
    if isinstance(value, str | bytes | bytearray | memoryview) or value is None:
        raise ProofError(wrong)
    try:
        items = list(cast(Iterable[object], value))
    except Exception:
        raise ProofError(wrong) from None
    return [_hash_arg(f"hash {i} of the {name}", item) for i, item in enumerate(items)]


def _check_length(hashes: Sequence[bytes], expected: int, where: str) -> None:
    if len(hashes) != expected:
        raise ProofError(f"proof has {len(hashes)} hashes, expected {expected} for {where}")


def _check_empty_proof(hashes: Sequence[bytes], where: str) -> None:
    if hashes:
        raise ProofError(f"proof has {len(hashes)} hashes, expected none {where}")


def _compare(name: str, computed: bytes, expected: bytes) -> None:
    if computed != expected:
        raise ProofError(
            f"computed {name} {_short(computed)} does not match expected {_short(expected)}"
        )


def _short(value: bytes) -> str:
    if not value:
        return "<empty>"
    return value[:8].hex() + ("..." if len(value) > 8 else "")
