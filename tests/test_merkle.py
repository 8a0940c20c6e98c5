"""RFC 9162 Merkle math: transparency-dev/merkle's vectors, the Merkle Tree Certificates draft's
subtree digests, known roots, generated proofs under mutation, and the cost of generation."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import math
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import need_refdata
from ionledger.errors import ProofError
from ionledger.ledger.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    CompactRange,
    LeafHashes,
    consistency_proof,
    inclusion_proof,
    is_valid_subtree,
    leaf_hash,
    node_hash,
    range_root,
    root_from_inclusion,
    subtree_consistency_proof,
    subtree_inclusion_proof,
    tree_root,
    verify_consistency,
    verify_inclusion,
    verify_subtree_consistency,
    verify_subtree_inclusion,
)

PROPERTY = settings(max_examples=200, deadline=None)

# The RFC 6962 test leaves (transparency-dev/merkle proof/verify_test.go `leaves`).
TEST_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
]
TEST_HASHES = [leaf_hash(d) for d in TEST_LEAVES]
TEST_SOURCE = LeafHashes(TEST_HASHES)

# MTH of the first 1..8 test leaves, as published in transparency-dev/merkle proof/verify_test.go
# (`roots`, inherited from the C++ certificate-transparency tests). The vectors carry every one
# of these but size 4 as a root; test_known_roots checks the two sources agree.
PUBLISHED_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]

# A larger tree for property tests: one source serves every size up to 2000, since the perfect
# subtrees of a prefix are those of the whole list.
BIG = 2000
BIG_HASHES = [leaf_hash(i.to_bytes(4, "big")) for i in range(BIG)]
BIG_SOURCE = LeafHashes(BIG_HASHES)


def _b64(value: str) -> bytes:
    return base64.b64decode(value)


def _proof(vector: dict[str, Any]) -> list[bytes]:
    return [_b64(h) for h in vector["proof"] or []]  # Go's JSON writes an empty proof as null


# -- transparency-dev/merkle's vectors ---------------------------------------------------------


def _vectors(kind: str) -> list[tuple[str, dict[str, Any]]]:
    folder = need_refdata("tlog", "transparency-dev-merkle", "testdata") / kind
    files = sorted(folder.rglob("*.json"))
    return [(str(f.relative_to(folder)), json.loads(f.read_text())) for f in files]


def _run_inclusion(v: dict[str, Any]) -> None:
    verify_inclusion(v["leafIdx"], v["treeSize"], _b64(v["leafHash"]), _proof(v), _b64(v["root"]))


def _run_consistency(v: dict[str, Any]) -> None:
    root1, root2 = _b64(v["root1"]), _b64(v["root2"])
    verify_consistency(v["size1"], v["size2"], root1, root2, _proof(v))


def _run_subtree_inclusion(v: dict[str, Any]) -> None:
    leaf, root = _b64(v["leafHash"]), _b64(v["root"])
    verify_subtree_inclusion(v["leafIdx"], v["start"], v["end"], leaf, _proof(v), root)


def _run_subtree_consistency(v: dict[str, Any]) -> None:
    root1, root2 = _b64(v["root1"]), _b64(v["root2"])
    verify_subtree_consistency(v["start"], v["end"], v["size"], root1, root2, _proof(v))


RUNNERS: dict[str, Callable[[dict[str, Any]], None]] = {
    "inclusion": _run_inclusion,
    "consistency": _run_consistency,
    "subtreeinclusion": _run_subtree_inclusion,
    "subtreeconsistency": _run_subtree_consistency,
}


@pytest.mark.refdata
@pytest.mark.parametrize("kind", sorted(RUNNERS))
def test_reference_vectors(kind: str) -> None:
    """Valid vectors verify; every wantErr vector raises ProofError (and nothing else)."""
    vectors = _vectors(kind)
    failures: list[str] = []
    for name, vector in vectors:
        try:
            RUNNERS[kind](vector)
        except ProofError as exc:
            if not vector["wantErr"]:
                failures.append(f"{name}: rejected a valid proof: {exc}")
        except Exception as exc:  # the contract: ProofError only
            failures.append(f"{name}: raised {type(exc).__name__}: {exc}")
        else:
            if vector["wantErr"]:
                failures.append(f"{name}: accepted ({vector['desc']})")
    passed = len(vectors) - len(failures)
    print(f"{kind} vectors: {passed}/{len(vectors)} passed")
    assert len(vectors) > 0
    assert failures == []


def _padded_source(start: int, count: int) -> LeafHashes:
    """The test leaves placed at leaf ``start`` onwards (subtree vectors reuse the 8-leaf tree
    at [start, end)); what precedes them does not enter any subtree proof."""
    return LeafHashes([leaf_hash(b"filler")] * start + TEST_HASHES[:count])


def _generated(kind: str, v: dict[str, Any]) -> list[bytes] | None:
    """Our proof for a valid vector, if its tree is over the test leaves; else None."""
    if kind == "inclusion":
        size = v["treeSize"]
        if size <= 8 and tree_root(size, TEST_SOURCE) == _b64(v["root"]):
            return inclusion_proof(v["leafIdx"], size, TEST_SOURCE)
    elif kind == "consistency":
        size1, size2 = v["size1"], v["size2"]
        roots = (_b64(v["root1"]), _b64(v["root2"]))
        if 0 < size1 <= size2 <= 8 and roots == (
            tree_root(size1, TEST_SOURCE),
            tree_root(size2, TEST_SOURCE),
        ):
            return consistency_proof(size1, size2, TEST_SOURCE)
    elif kind == "subtreeinclusion":
        start, end = v["start"], v["end"]
        if 0 < end - start <= 8:
            source = _padded_source(start, end - start)
            if range_root(start, end, source) == _b64(v["root"]):
                return subtree_inclusion_proof(v["leafIdx"], start, end, source)
    else:
        start, end, size = v["start"], v["end"], v["size"]
        roots = (_b64(v["root1"]), _b64(v["root2"]))
        if start < end <= size <= 8 and roots == (
            range_root(start, end, TEST_SOURCE),
            tree_root(size, TEST_SOURCE),
        ):
            return subtree_consistency_proof(start, end, size, TEST_SOURCE)
    return None


@pytest.mark.refdata
@pytest.mark.parametrize("kind", sorted(RUNNERS))
def test_generation_reproduces_vectors(kind: str) -> None:
    """Every valid vector over the RFC 6962 test leaves: our proof is the vector's, exactly."""
    checked, failures = 0, []
    for name, vector in _vectors(kind):
        if vector["wantErr"]:
            continue
        proof = _generated(kind, vector)
        if proof is None:
            continue
        checked += 1
        if proof != _proof(vector):
            failures.append(name)
    print(f"{kind} vectors reproduced by generation: {checked - len(failures)}/{checked}")
    assert checked > 0
    assert failures == []


@pytest.mark.refdata
def test_known_roots() -> None:
    """RFC 6962/9162 roots of the 8 test leaves at sizes 1..8, as the vectors carry them."""
    from_vectors: dict[int, bytes] = {}
    # The numbered folders are over the test leaves; the others use synthetic hashes.
    for name, v in _vectors("inclusion"):
        if name.split("/")[0].isdigit() and not v["wantErr"]:
            from_vectors.setdefault(v["treeSize"], _b64(v["root"]))
            assert _b64(v["leafHash"]) == TEST_HASHES[v["leafIdx"]]
    for name, v in _vectors("consistency"):
        if name.split("/")[0].isdigit() and not v["wantErr"]:
            from_vectors.setdefault(v["size1"], _b64(v["root1"]))
            from_vectors.setdefault(v["size2"], _b64(v["root2"]))
    published = {size: bytes.fromhex(h) for size, h in enumerate(PUBLISHED_ROOTS, start=1)}
    assert set(from_vectors) == {1, 2, 3, 5, 6, 7, 8}
    assert all(from_vectors[size] == published[size] for size in from_vectors)
    for size, root in published.items():
        assert tree_root(size, TEST_SOURCE) == root
        assert _compact(TEST_HASHES[:size]).root() == root
    assert tree_root(0, TEST_SOURCE) == EMPTY_ROOT == hashlib.sha256(b"").digest()


# -- the Merkle Tree Certificates draft's subtree vectors ----------------------------------------

# draft-ietf-plants-merkle-tree-certs, appendix "Subtree Test Vectors", as reproduced by
# transparency-dev/merkle testonly/vectors_test.go: over the leaves d[i] = bytes([i]), i < 130,
# a SHA-256 over one text row per valid subtree (and, for proofs, per index or tree size).
# Two variants of each digest are published: with the empty subtrees [s, s) and without.
DRAFT_MAX = 130
DRAFT_HASHES = "94a95384a8c69acea9b50d035a58285b3a777cb7a724005faa5e1f1e1190007f"
DRAFT_HASHES_WITH_EMPTY = "b82806ad4265bb151c1119c0f4db437bb4d1a1f887b3a7fba1cd4ebf552e3e81"
DRAFT_INCLUSION = "ac2a8f989e44d99e399db448050ff5f19757df53cfb716aa81015d3955d8163f"
DRAFT_CONSISTENCY = "c586ebbb73a5621baf2140095d87dde934e3b6503a562a1a5215b8209edd083d"
DRAFT_CONSISTENCY_WITH_EMPTY = "10fa99b37bf9bf9ffa26b412fbd98bd75363256d0b75d61bc4538b9c9c5a0a74"
DRAFT_SOURCE = LeafHashes([leaf_hash(bytes([i])) for i in range(DRAFT_MAX)])


def _subtrees(max_end: int) -> Iterator[tuple[int, int]]:
    """Every valid subtree [start, end) with end <= max_end, empty ones included."""
    for end in range(max_end + 1):
        for start in range(end + 1):
            if is_valid_subtree(start, end):
                yield start, end


def _row(prefix: str, proof: list[bytes]) -> bytes:
    return (prefix + "".join(f" {h.hex()}" for h in proof) + "\n").encode()


def test_draft_subtree_hashes() -> None:
    plain, with_empty = hashlib.sha256(), hashlib.sha256()
    for start, end in _subtrees(DRAFT_MAX):
        row = f"[{start}, {end}) {range_root(start, end, DRAFT_SOURCE).hex()}\n".encode()
        with_empty.update(row)
        if start < end:
            plain.update(row)
    assert plain.hexdigest() == DRAFT_HASHES
    assert with_empty.hexdigest() == DRAFT_HASHES_WITH_EMPTY


def test_draft_subtree_inclusion_proofs() -> None:
    digest, rows = hashlib.sha256(), 0
    for start, end in _subtrees(DRAFT_MAX):
        root = range_root(start, end, DRAFT_SOURCE)
        for index in range(start, end):
            proof = subtree_inclusion_proof(index, start, end, DRAFT_SOURCE)
            digest.update(_row(f"{index} [{start}, {end})", proof))
            leaf = DRAFT_SOURCE.perfect(0, index)
            verify_subtree_inclusion(index, start, end, leaf, proof, root)
            rows += 1
    print(f"draft subtree inclusion rows: {rows}")
    assert digest.hexdigest() == DRAFT_INCLUSION


def test_draft_subtree_consistency_proofs() -> None:
    plain, with_empty, rows = hashlib.sha256(), hashlib.sha256(), 0
    subtrees = list(_subtrees(DRAFT_MAX))
    roots = {(s, e): range_root(s, e, DRAFT_SOURCE) for s, e in subtrees}
    for size in range(DRAFT_MAX + 1):
        root = roots[0, size]
        for start, end in subtrees:
            if end > size:
                continue
            proof = subtree_consistency_proof(start, end, size, DRAFT_SOURCE)
            row = _row(f"[{start}, {end}) {size}", proof)
            with_empty.update(row)
            if start < end:
                plain.update(row)
            verify_subtree_consistency(start, end, size, roots[start, end], root, proof)
            rows += 1
    print(f"draft subtree consistency rows: {rows}")
    assert plain.hexdigest() == DRAFT_CONSISTENCY
    assert with_empty.hexdigest() == DRAFT_CONSISTENCY_WITH_EMPTY


# -- tree hashes -------------------------------------------------------------------------------


def _naive_mth(hashes: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1 MTH, straight from the definition (over leaf hashes)."""
    if not hashes:
        return EMPTY_ROOT
    if len(hashes) == 1:
        return hashes[0]
    k = 1 << ((len(hashes) - 1).bit_length() - 1)
    return node_hash(_naive_mth(hashes[:k]), _naive_mth(hashes[k:]))


def _compact(hashes: list[bytes]) -> CompactRange:
    compact = CompactRange()
    for h in hashes:
        compact.append(h)
    return compact


def test_roots_match_the_definition() -> None:
    for size in range(301):
        assert tree_root(size, BIG_SOURCE) == _naive_mth(BIG_HASHES[:size]), size
    for start, end in _subtrees(300):
        assert range_root(start, end, BIG_SOURCE) == _naive_mth(BIG_HASHES[start:end])


def test_range_root_needs_aligned_pieces() -> None:
    with pytest.raises(ProofError, match="not an aligned perfect subtree"):
        range_root(1, 4, BIG_SOURCE)  # [1, 3) would be a perfect piece at an odd leaf
    with pytest.raises(ProofError, match="not a range"):
        range_root(5, 4, BIG_SOURCE)
    assert range_root(7, 7, BIG_SOURCE) == EMPTY_ROOT


def test_compact_range_root_at_every_size() -> None:
    compact = CompactRange()
    assert (compact.size, compact.root()) == (0, EMPTY_ROOT)
    for size in range(1, 301):
        compact.append(BIG_HASHES[size - 1])
        assert compact.size == size
        assert len(compact.frontier) == size.bit_count()
        assert compact.root() == tree_root(size, BIG_SOURCE), size
        if size % 37 == 0:
            resumed = CompactRange.restore(size, compact.frontier)
            resumed.append(BIG_HASHES[size])
            assert resumed.root() == tree_root(size + 1, BIG_SOURCE)


def test_compact_range_rejects_bad_input() -> None:
    with pytest.raises(ProofError, match="leaf hash is 31 bytes, not 32"):
        CompactRange().append(b"x" * 31)
    with pytest.raises(ProofError, match="a frontier of size 3 has 2 hashes, not 1"):
        CompactRange.restore(3, [EMPTY_ROOT])
    with pytest.raises(ProofError, match="size -1 is outside"):
        CompactRange.restore(-1, [])


# -- messages and edge cases -------------------------------------------------------------------


def test_error_messages_say_what_is_wrong() -> None:
    root = tree_root(8, BIG_SOURCE)
    proof = inclusion_proof(2, 8, BIG_SOURCE)
    leaf = BIG_HASHES[2]
    cases: list[tuple[Callable[[], object], str]] = [
        (lambda: verify_inclusion(8, 8, leaf, proof, root), "index 8 is not below tree size 8"),
        (
            lambda: verify_inclusion(2, 8, leaf, proof[:2], root),
            "proof has 2 hashes, expected 3 for index 2 in a tree of 8",
        ),
        (
            lambda: verify_inclusion(2, 8, leaf, [proof[0], proof[1][:31], proof[2]], root),
            "hash 1 of the proof is 31 bytes, not 32",
        ),
        (lambda: verify_inclusion(2, 8, leaf[:5], proof, root), "leaf hash is 5 bytes, not 32"),
        (
            lambda: verify_inclusion(3, 8, leaf, proof, root),
            f"computed root [0-9a-f]{{16}}[.]{{3}} does not match expected {root[:8].hex()}",
        ),
        (
            lambda: verify_consistency(5, 4, root, root, []),
            "size1 5 is greater than size2 4",
        ),
        (
            lambda: verify_subtree_inclusion(3, 3, 5, leaf, [], root),
            r"\[3, 5\) is not a valid subtree: start 3 is not a multiple of 2",
        ),
        (
            lambda: verify_subtree_consistency(0, 9, 8, root, root, []),
            r"subtree \[0, 9\) ends beyond tree size 8",
        ),
    ]
    for call, message in cases:
        with pytest.raises(ProofError, match=message):
            call()


def test_consistency_edge_cases() -> None:
    root5 = tree_root(5, BIG_SOURCE)
    # The empty tree is a prefix of every tree, and its root is SHA-256("").
    assert consistency_proof(0, 5, BIG_SOURCE) == []
    verify_consistency(0, 5, EMPTY_ROOT, root5, [])
    verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    with pytest.raises(ProofError, match=r"root1 \(of the empty tree\)"):
        verify_consistency(0, 5, root5, root5, [])
    with pytest.raises(ProofError, match="root2 is 3 bytes"):
        verify_consistency(0, 5, EMPTY_ROOT, b"abc", [])
    with pytest.raises(ProofError, match="expected none from an empty tree"):
        verify_consistency(0, 5, EMPTY_ROOT, root5, [root5])
    # Equal sizes: no proof, equal roots.
    assert consistency_proof(5, 5, BIG_SOURCE) == []
    verify_consistency(5, 5, root5, root5, [])
    with pytest.raises(ProofError, match="expected none between equal sizes 5"):
        verify_consistency(5, 5, root5, root5, [root5])
    # An empty subtree is in every tree; its root must be SHA-256("").
    assert subtree_consistency_proof(4, 4, 5, BIG_SOURCE) == []
    verify_subtree_consistency(4, 4, 5, EMPTY_ROOT, root5, [])
    with pytest.raises(ProofError, match=r"root1 \(of an empty subtree\)"):
        verify_subtree_consistency(4, 4, 5, root5, root5, [])
    with pytest.raises(ProofError, match="ends beyond tree size"):
        verify_subtree_consistency(6, 6, 5, EMPTY_ROOT, root5, [])


def test_generation_rejects_bad_arguments() -> None:
    for call in (
        lambda: inclusion_proof(5, 5, BIG_SOURCE),
        lambda: inclusion_proof(-1, 5, BIG_SOURCE),
        lambda: consistency_proof(6, 5, BIG_SOURCE),
        lambda: consistency_proof(-1, 5, BIG_SOURCE),
        lambda: subtree_inclusion_proof(2, 2, 5, BIG_SOURCE),
        lambda: subtree_inclusion_proof(8, 4, 8, BIG_SOURCE),
        lambda: subtree_consistency_proof(2, 5, 8, BIG_SOURCE),
        lambda: subtree_consistency_proof(4, 8, 7, BIG_SOURCE),
        lambda: LeafHashes(BIG_HASHES[:4]).perfect(2, 1),
    ):
        with pytest.raises(ProofError):
            call()


GARBAGE = [None, True, 1.5, "7", b"\x00" * 32, -1, 1 << 64, 1 << 200, [], [None], object()]


def test_garbage_raises_proof_error_only() -> None:
    root = tree_root(8, BIG_SOURCE)
    proof = inclusion_proof(2, 8, BIG_SOURCE)
    good: list[Any] = [2, 8, BIG_HASHES[2], proof, root]
    for position in range(len(good)):
        for junk in GARBAGE:
            args = list(good)
            args[position] = junk
            with pytest.raises(ProofError):
                verify_inclusion(*args)
    for junk in [None, "abc", b"abc", 5, [b"abc"], [root, None], iter([1, 2])]:
        with pytest.raises(ProofError):
            verify_consistency(3, 8, root, root, junk)  # type: ignore[arg-type]
        with pytest.raises(ProofError):
            verify_subtree_consistency(0, 3, 8, root, root, junk)  # type: ignore[arg-type]


ANYTHING = st.one_of(
    st.none(),
    st.booleans(),
    st.floats(allow_nan=True),
    st.text(max_size=4),
    st.integers(-(2**70), 2**70),
    st.integers(0, 40),
    st.binary(max_size=40),
    st.binary(min_size=32, max_size=32),
    st.lists(st.binary(min_size=31, max_size=33), max_size=70),
    st.lists(st.one_of(st.none(), st.integers(), st.binary(max_size=33)), max_size=5),
)
VERIFIERS: list[tuple[Callable[..., None], int]] = [
    (verify_inclusion, 5),
    (verify_consistency, 5),
    (verify_subtree_inclusion, 6),
    (verify_subtree_consistency, 6),
]


@PROPERTY
@given(st.data())
def test_fuzzed_input_raises_proof_error_only(data: st.DataObject) -> None:
    verifier, arity = data.draw(st.sampled_from(VERIFIERS))
    args = [data.draw(ANYTHING) for _ in range(arity)]
    with contextlib.suppress(ProofError):  # anything else escaping fails the test
        verifier(*args)


# -- properties of generated proofs ------------------------------------------------------------


def _largest_power_below(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


def _path_shape(index: int, size: int) -> tuple[str, ...]:
    """Which side each sibling of RFC 9162 PATH(index, D_size) is on, leaf to root."""
    if size <= 1:
        return ()
    k = _largest_power_below(size)
    if index < k:
        return (*_path_shape(index, k), "right")
    return (*_path_shape(index - k, size - k), "left")


def _subproof_shape(start: int, end: int, size: int, known: bool = True) -> tuple[str, ...]:
    """The shape of the draft's SUBTREE_SUBPROOF (RFC 9162 SUBPROOF when start == 0)."""
    if start == 0 and end == size:
        return () if known else ("seed",)
    k = _largest_power_below(size)
    if end <= k:
        return (*_subproof_shape(start, end, k, known), "right")
    if k <= start:
        return (*_subproof_shape(start - k, end - k, size - k, known), "left outside")
    return (*_subproof_shape(0, end - k, size - k, False), "left inside")


# Two proofs with the same shape make the verifier do the very same hashing, so a proof that
# verifies for one set of indices and sizes legitimately verifies for any other with the same
# shape: e.g. leaf 0's proof in a tree of 8 also proves leaf 0 in a tree of 7 (three right
# siblings either way), as the verifier sees hashes, not what they cover. A mutation must fail
# exactly when it changes the shape or makes the arguments invalid.


def _inclusion_shape(index: int, size: int) -> tuple[str, ...] | None:
    return _path_shape(index, size) if 0 <= index < size <= 2**64 - 1 else None


def _consistency_shape(size1: int, size2: int) -> tuple[str, ...] | None:
    if not 0 < size1 <= size2 <= 2**64 - 1:
        return None  # size 0 is consistent only with root1 == EMPTY_ROOT, never ours
    return _subproof_shape(0, size1, size2)


def _subtree_inclusion_shape(index: int, start: int, end: int) -> tuple[str, ...] | None:
    if not (is_valid_subtree(start, end) and start <= index < end <= 2**64 - 1):
        return None
    return _path_shape(index - start, end - start)


def _subtree_consistency_shape(start: int, end: int, size: int) -> tuple[str, ...] | None:
    if not (is_valid_subtree(start, end) and start < end <= size <= 2**64 - 1):
        return None  # an empty subtree needs root1 == EMPTY_ROOT, never ours
    return _subproof_shape(start, end, size)


def _mutants(value: int, bit: int) -> list[int]:
    return [value + 1, value - 1, value ^ (1 << bit)]


def _flip(value: bytes, bit: int) -> bytes:
    flipped = bytearray(value)
    flipped[bit // 8] ^= 1 << (bit % 8)
    return bytes(flipped)


def _verifies(verifier: Callable[..., None], *args: object) -> bool:
    try:
        verifier(*args)
    except ProofError:
        return False
    return True


BITS = st.integers(0, 8 * HASH_SIZE - 1)
SIZE_BITS = st.integers(0, 64)  # 64 reaches past uint64


@PROPERTY
@given(st.data())
def test_inclusion_proofs_verify_and_resist_mutation(data: st.DataObject) -> None:
    size = data.draw(st.integers(1, BIG))
    index = data.draw(st.integers(0, size - 1))
    proof = inclusion_proof(index, size, BIG_SOURCE)
    root, leaf = tree_root(size, BIG_SOURCE), BIG_HASHES[index]
    verify_inclusion(index, size, leaf, proof, root)
    assert root_from_inclusion(index, size, leaf, proof) == root
    assert len(proof) == len(_path_shape(index, size))

    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = _flip(bad[i], data.draw(BITS))
        assert not _verifies(verify_inclusion, index, size, leaf, bad, root)
    bad_root, bad_leaf = _flip(root, data.draw(BITS)), _flip(leaf, data.draw(BITS))
    assert not _verifies(verify_inclusion, index, size, leaf, proof, bad_root)
    assert not _verifies(verify_inclusion, index, size, bad_leaf, proof, root)

    shape = _path_shape(index, size)
    for i in _mutants(index, data.draw(SIZE_BITS)):
        ok = _verifies(verify_inclusion, i, size, leaf, proof, root)
        assert ok == (_inclusion_shape(i, size) == shape), (index, size, i)
    for n in _mutants(size, data.draw(SIZE_BITS)):
        ok = _verifies(verify_inclusion, index, n, leaf, proof, root)
        assert ok == (_inclusion_shape(index, n) == shape), (index, size, n)


@PROPERTY
@given(st.data())
def test_consistency_proofs_verify_and_resist_mutation(data: st.DataObject) -> None:
    size2 = data.draw(st.integers(1, BIG))
    size1 = data.draw(st.integers(1, size2))
    proof = consistency_proof(size1, size2, BIG_SOURCE)
    root1, root2 = tree_root(size1, BIG_SOURCE), tree_root(size2, BIG_SOURCE)
    verify_consistency(size1, size2, root1, root2, proof)
    assert len(proof) == len(_consistency_shape(size1, size2) or ())

    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = _flip(bad[i], data.draw(BITS))
        assert not _verifies(verify_consistency, size1, size2, root1, root2, bad)
    bad1, bad2 = _flip(root1, data.draw(BITS)), _flip(root2, data.draw(BITS))
    assert not _verifies(verify_consistency, size1, size2, bad1, root2, proof)
    assert not _verifies(verify_consistency, size1, size2, root1, bad2, proof)

    shape = _consistency_shape(size1, size2)
    for m in _mutants(size1, data.draw(SIZE_BITS)):
        ok = _verifies(verify_consistency, m, size2, root1, root2, proof)
        assert ok == (_consistency_shape(m, size2) == shape), (size1, size2, m)
    for n in _mutants(size2, data.draw(SIZE_BITS)):
        ok = _verifies(verify_consistency, size1, n, root1, root2, proof)
        assert ok == (_consistency_shape(size1, n) == shape), (size1, size2, n)


@st.composite
def _subtree_in(draw: st.DrawFn, size: int) -> tuple[int, int]:
    """A random non-empty valid subtree [start, end) with end <= size."""
    length = draw(st.integers(1, size))
    block = 1 << (length - 1).bit_length()
    start = block * draw(st.integers(0, (size - length) // block))
    return start, start + length


@PROPERTY
@given(st.data())
def test_subtree_proofs_verify_and_resist_mutation(data: st.DataObject) -> None:
    size = data.draw(st.integers(1, BIG))
    start, end = data.draw(_subtree_in(size))
    index = data.draw(st.integers(start, end - 1))
    sub_root, root = range_root(start, end, BIG_SOURCE), tree_root(size, BIG_SOURCE)
    leaf = BIG_HASHES[index]

    incl = subtree_inclusion_proof(index, start, end, BIG_SOURCE)
    verify_subtree_inclusion(index, start, end, leaf, incl, sub_root)
    if start == 0:  # a subtree at 0 is an earlier tree: the RFC 9162 proofs
        assert incl == inclusion_proof(index, end, BIG_SOURCE)

    cons = subtree_consistency_proof(start, end, size, BIG_SOURCE)
    verify_subtree_consistency(start, end, size, sub_root, root, cons)
    if start == 0:
        assert cons == consistency_proof(end, size, BIG_SOURCE)

    for i in range(len(cons)):
        bad = list(cons)
        bad[i] = _flip(bad[i], data.draw(BITS))
        assert not _verifies(verify_subtree_consistency, start, end, size, sub_root, root, bad)
    bad1, bad2 = _flip(sub_root, data.draw(BITS)), _flip(root, data.draw(BITS))
    assert not _verifies(verify_subtree_consistency, start, end, size, bad1, root, cons)
    assert not _verifies(verify_subtree_consistency, start, end, size, sub_root, bad2, cons)
    bad_leaf = _flip(leaf, data.draw(BITS))
    assert not _verifies(verify_subtree_inclusion, index, start, end, bad_leaf, incl, sub_root)

    bit = data.draw(SIZE_BITS)
    shape = _subtree_inclusion_shape(index, start, end)
    for i, s, e in [
        *((i, start, end) for i in _mutants(index, bit)),
        *((index, s, end) for s in _mutants(start, bit)),
        *((index, start, e) for e in _mutants(end, bit)),
    ]:
        ok = _verifies(verify_subtree_inclusion, i, s, e, leaf, incl, sub_root)
        assert ok == (_subtree_inclusion_shape(i, s, e) == shape), (index, start, end, i, s, e)

    shape = _subtree_consistency_shape(start, end, size)
    for s, e, n in [
        *((s, end, size) for s in _mutants(start, bit)),
        *((start, e, size) for e in _mutants(end, bit)),
        *((start, end, n) for n in _mutants(size, bit)),
    ]:
        ok = _verifies(verify_subtree_consistency, s, e, n, sub_root, root, cons)
        assert ok == (_subtree_consistency_shape(s, e, n) == shape), (start, end, size, s, e, n)


# -- cost of generation ------------------------------------------------------------------------


class CountingSource:
    """Deterministic fake hashes for a tree of ``size``; counts and range-checks every read."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.calls = 0

    def perfect(self, level: int, index: int) -> bytes:
        assert level >= 0, level
        assert index >= 0, index
        assert (index + 1) << level <= self.size, (level, index)
        self.calls += 1
        return hashlib.sha256(f"{level}/{index}".encode()).digest()


TEN_MILLION = 10**7


@PROPERTY
@given(
    st.integers(1, TEN_MILLION).flatmap(
        lambda size2: st.tuples(st.integers(1, size2), st.just(size2))
    )
)
def test_generation_reads_o_log_n_hashes(sizes: tuple[int, int]) -> None:
    """No per-leaf work: a proof reads at most 2*log2(size) + 2 stored hashes."""
    size1, size2 = sizes
    limit = 2 * math.ceil(math.log2(size2)) + 2 if size2 > 1 else 2
    source = CountingSource(size2)
    inclusion_proof(size1 - 1, size2, source)
    assert source.calls <= limit, ("inclusion", size1 - 1, size2, source.calls)
    source.calls = 0
    consistency_proof(size1, size2, source)
    assert source.calls <= limit, ("consistency", size1, size2, source.calls)


def test_generation_cost_at_ten_million() -> None:
    size, worst = TEN_MILLION, 0
    limit = 2 * math.ceil(math.log2(size)) + 2
    picks = {0, 1, 2, size // 3, size // 2, 2**23 - 1, 2**23, 2**23 + 1, size - 2, size - 1}
    calls: list[tuple[Callable[..., list[bytes]], int, int]] = []
    for k in picks:
        calls.append((inclusion_proof, k, size))
        calls.append((consistency_proof, k + 1, size))
        calls.append((consistency_proof, min(k + 1, size - 1), size - 1))
    for generate, a, b in calls:
        source = CountingSource(size)
        generate(a, b, source)
        worst = max(worst, source.calls)
    print(f"most perfect() reads for one proof at {size} leaves: {worst} (limit {limit})")
    assert worst <= limit
