"""C2SP signed notes and checkpoints: the spec examples, round trips, tampering and bad input."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import need_refdata
from ionledger.errors import SignatureError
from ionledger.ledger.checkpoint import (
    MAX_TREE_SIZE,
    Checkpoint,
    open_checkpoint,
    sign_checkpoint,
)
from ionledger.ledger.note import (
    MAX_SIGNATURES,
    NoteSignature,
    Signer,
    Verifier,
    key_id,
    open_note,
    parse_note,
    sign_note,
)

SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"

# The example in golang.org/x/mod/sumdb/note's package documentation (Ed25519 is deterministic,
# so signing must reproduce its note byte for byte).
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_SIG = (
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
)

ROOT = hashlib.sha256(b"root").digest()


def signer(name: str, tag: str = "") -> Signer:
    """A deterministic key, so failures reproduce."""
    return Signer.from_seed(name, hashlib.sha256(f"{name}/{tag}".encode()).digest())


ALICE = signer("alice.example/log")
ALICE2 = signer("alice.example/log", "second key, same name")
BOB = signer("bob.example/witness")
TEXT = "ionledger test note\nline two, with ünïcødé — and an em dash\n\nafter a blank line\n"


def fenced_blocks(path: Path) -> list[str]:
    """The contents of the ``` fenced code blocks of a markdown file."""
    return re.findall(r"^```[^\n]*\n(.*?)^```", path.read_text(encoding="utf-8"), re.M | re.S)


def spec_note_example() -> tuple[str, str]:
    """signed-note.md's example: (vkey, signed note)."""
    path = need_refdata("tlog", "c2sp", "signed-note.md")
    md = path.read_text(encoding="utf-8")
    m = re.search(r"following verifier key\s*\n\s*\n\s+(\S+)\s*\n", md)
    assert m is not None, "the verifier key example moved in signed-note.md"
    notes = [b for b in fenced_blocks(path) if "\n— example.com/foo " in b]
    assert len(notes) == 1
    return m.group(1), notes[0]


def flip(note: str, bit: int) -> str:
    """The note with one bit flipped; invalid UTF-8 comes back as lone surrogates."""
    raw = bytearray(note.encode("utf-8"))
    raw[bit // 8] ^= 1 << (bit % 8)
    return bytes(raw).decode("utf-8", "surrogateescape")


def raises(fragment: str) -> pytest.RaisesExc[SignatureError]:
    return pytest.raises(SignatureError, match=re.escape(fragment))


# ---- the spec examples ---------------------------------------------------------------------------


def test_spec_example_note_verifies() -> None:
    vkey, note = spec_note_example()
    assert vkey == SPEC_VKEY
    verifier = Verifier.from_vkey(vkey)
    assert verifier.name == "example.com/foo"
    assert verifier.key_id == 0x530D903A
    assert verifier.vkey() == vkey
    opened = open_note(note, verifier)
    assert opened.text == "This is an example message.\n"
    assert [(s.name, s.key_id, len(s.signature)) for s in opened.signatures] == [
        ("example.com/foo", 0x530D903A, 64)
    ]
    with raises("no signature by a known key"):
        open_note(note, BOB.verifier())


def test_spec_note_text_runs_to_the_last_blank_line() -> None:
    path = need_refdata("tlog", "c2sp", "signed-note.md")
    (poem,) = [b for b in fenced_blocks(path) if "quasimodo" in b]
    note = parse_note(poem)
    assert note.text.endswith(":\n\ned è subito sera.\n")
    assert [s.name for s in note.signatures] == ["quasimodo.example/salvatore"]
    with raises("no signature by a known key"):
        open_note(poem, ALICE.verifier())


def test_spec_checkpoint_example_parses_but_needs_its_key() -> None:
    path = need_refdata("tlog", "c2sp", "tlog-checkpoint.md")
    (signed,) = [b for b in fenced_blocks(path) if "behind-the-sofa" in b]
    note = parse_note(signed)
    cp = Checkpoint.parse(note.text)
    assert cp.origin == "example.com/behind-the-sofa"
    assert cp.size == 20852163
    assert len(cp.root) == 32
    assert cp.extensions == ()
    assert cp.text() == note.text
    assert [s.name for s in note.signatures] == ["example.com/behind-the-sofa"]
    # A key with the log's name but not its key: its ID differs, so the signature is unknown.
    impostor = signer("example.com/behind-the-sofa")
    assert impostor.key_id != note.signatures[0].key_id
    with raises("no signature by a known key"):
        open_note(signed, impostor.verifier())
    with raises("no signature by a known key"):
        open_checkpoint(signed, impostor.verifier())


def test_go_reference_example() -> None:
    s = Signer.from_skey(GO_SKEY)
    assert s.name == "PeterNeumann"
    assert s.key_id == 0xC74F20A3
    assert s.skey() == GO_SKEY
    assert s.verifier().vkey() == GO_VKEY
    note = sign_note(GO_TEXT, s)
    assert note == GO_TEXT + "\n— PeterNeumann " + GO_SIG + "\n"
    assert open_note(note, Verifier.from_vkey(GO_VKEY)).text == GO_TEXT


# ---- round trips ---------------------------------------------------------------------------------


def test_key_round_trips() -> None:
    s = Signer.generate("example.org/fresh")
    assert Signer.from_skey(s.skey()) == s
    v = s.verifier()
    assert Verifier.from_vkey(v.vkey()) == v
    assert v.key_id == s.key_id == key_id(s.name, v.public_key)
    assert s.skey() not in repr(s)
    assert base64.b64encode(s.seed).decode() not in repr(s)
    assert Signer.generate("example.org/fresh") != s


def test_sign_and_verify() -> None:
    s = ALICE
    sig = s.sign(b"hello\n")
    assert len(sig) == 64
    assert s.verifier().verify(b"hello\n", sig)
    assert not s.verifier().verify(b"hello!\n", sig)
    assert not s.verifier().verify(b"hello\n", sig[:63])
    assert not BOB.verifier().verify(b"hello\n", sig)


def test_note_round_trip() -> None:
    note = sign_note(TEXT, ALICE, BOB)
    parsed = parse_note(note)
    assert parsed.text == TEXT
    assert [(s.name, s.key_id) for s in parsed.signatures] == [
        (ALICE.name, ALICE.key_id),
        (BOB.name, BOB.key_id),
    ]
    assert open_note(note, ALICE.verifier()).text == TEXT
    both = open_note(note, BOB.verifier(), ALICE.verifier())
    assert [s.name for s in both.signatures] == [ALICE.name, BOB.name]


def test_checkpoint_round_trip() -> None:
    cp = Checkpoint(ALICE.name, 12345, ROOT, ("ext one", "ext two"))
    assert cp.text().splitlines()[:2] == [ALICE.name, "12345"]
    signed = sign_checkpoint(cp, ALICE)
    assert open_checkpoint(signed, ALICE.verifier()) == cp
    empty = Checkpoint(ALICE.name, 0, hashlib.sha256(b"").digest())
    assert open_checkpoint(sign_checkpoint(empty, ALICE), ALICE.verifier()) == empty


def test_at_least_sixteen_signatures_are_accepted() -> None:
    signers = [signer(f"witness{i}.example") for i in range(16)]
    note = sign_note(TEXT, *signers)
    assert len(open_note(note, *(s.verifier() for s in signers)).signatures) == 16


# ---- tampering -----------------------------------------------------------------------------------


def assert_every_bit_flip_rejected(note: str, check: object) -> None:
    assert callable(check)
    nbits = len(note.encode("utf-8")) * 8
    invalid_utf8 = 0
    for bit in range(nbits):  # every bit: a few thousand checks take well under a second
        bad = flip(note, bit)
        invalid_utf8 += any("\udc80" <= ch <= "\udcff" for ch in bad)
        with pytest.raises(SignatureError):
            check(bad)
    assert invalid_utf8 > 0  # the flips through multi-byte characters were exercised


def test_every_bit_flip_in_a_note_is_rejected() -> None:
    note = sign_note(TEXT, ALICE)
    v = ALICE.verifier()
    open_note(note, v)
    assert_every_bit_flip_rejected(note, lambda n: open_note(n, v))


def test_every_bit_flip_in_a_checkpoint_is_rejected() -> None:
    signed = sign_checkpoint(Checkpoint(ALICE.name, 20852163, ROOT, ("ünï",)), ALICE)
    v = ALICE.verifier()
    open_checkpoint(signed, v)
    assert_every_bit_flip_rejected(signed, lambda n: open_checkpoint(n, v))


def test_unknown_signatures_are_ignored() -> None:
    assert ALICE2.name == ALICE.name
    assert ALICE2.key_id != ALICE.key_id
    note = sign_note(TEXT, BOB, ALICE2, ALICE)
    # Alice's signature under another name keeps her key ID: still an unknown key.
    alice_line = note.splitlines()[-1]
    renamed = alice_line.replace(ALICE.name, "mallory.example/log")
    note += renamed + "\n"
    opened = open_note(note, ALICE.verifier())
    assert opened.text == TEXT
    assert opened.signatures == (parse_note(note).signatures[2],)
    assert opened.signatures[0].key_id == ALICE.key_id


def test_only_unknown_signatures_is_rejected() -> None:
    note = sign_note(TEXT, BOB, ALICE2)
    with raises(f"no signature by a known key (known keys: {ALICE.name}+{ALICE.key_id:08x})"):
        open_note(note, ALICE.verifier())
    with raises("no signature by a known key (known keys: none)"):
        open_note(note)


def test_a_failing_known_signature_rejects_the_note() -> None:
    good = sign_note(TEXT, ALICE, BOB)
    other = sign_note("other text\n", BOB)
    forged = good.splitlines(keepends=True)
    forged[-1] = other.splitlines(keepends=True)[-1]  # Bob's signature of another text
    note = "".join(forged)
    assert open_note(note, ALICE.verifier()).text == TEXT  # Bob unknown: ignored
    with raises(f"signature line 2: signature by {BOB.name}+{BOB.key_id:08x} does not verify"):
        open_note(note, ALICE.verifier(), BOB.verifier())


def test_a_repeated_signature_counts_once() -> None:
    note = sign_note(TEXT, ALICE, ALICE)
    assert len(parse_note(note).signatures) == 2
    assert len(open_note(note, ALICE.verifier()).signatures) == 1


def test_known_keys_must_not_collide() -> None:
    v = ALICE.verifier()
    clash = Verifier.__new__(Verifier)  # bypass validation: a colliding key cannot be computed
    object.__setattr__(clash, "name", v.name)
    object.__setattr__(clash, "key_id", v.key_id)
    object.__setattr__(clash, "public_key", BOB.verifier().public_key)
    with raises(f"two known keys are both named {v.name} with key ID {v.key_id:08x}"):
        open_note(sign_note(TEXT, ALICE), v, clash)
    assert open_note(sign_note(TEXT, ALICE), v, v).text == TEXT  # the same key twice is fine


# ---- malformed keys ------------------------------------------------------------------------------

_PUB = Verifier.from_vkey(SPEC_VKEY).public_key
_SPEC_KEY64 = SPEC_VKEY.split("+", 2)[2]


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@pytest.mark.parametrize(
    ("vkey", "fragment"),
    [
        (
            "example.com/foo+530d903b+" + _SPEC_KEY64,
            "verifier key ID 530d903b does not match key example.com/foo (computed 530d903a)",
        ),
        ("example.com/bar+530d903a+" + _SPEC_KEY64, "does not match key example.com/bar"),
        ("example.com/foo+530d903a+" + _b64(b"\x02" + _PUB), "type 0x02 is not supported"),
        ("example.com/foo+530d903a+" + _b64(b"\x01" + _PUB[:31]), "has 31 bytes of Ed25519 key"),
        ("example.com/foo+530d903a+" + _b64(b"\x01" + _PUB + b"\0"), "has 33 bytes"),
        ("example.com/foo+530d903a+", "verifier key material is empty"),
        ("example.com/foo+530d903a+Aeky!", "verifier key material is not valid base64"),
        ("example.com/foo+530d903a+" + _SPEC_KEY64[:-1], "not valid base64"),
        ("example.com+foo+530d903a+" + _SPEC_KEY64, "key names cannot contain '+'"),
        ("example.com/foo+530D903A+" + _SPEC_KEY64, "'530D903A' is not 8 lowercase hex digits"),
        ("example.com/foo+530d903+" + _SPEC_KEY64, "is not 8 lowercase hex digits"),
        ("example.com/foo", "verifier key has no '+'"),
        ("example.com/foo+530d903a", "verifier key has no key after its key ID"),
        ("", "verifier key has no '+'"),
        ("+530d903a+" + _SPEC_KEY64, "verifier key name is empty"),
        ("example.com foo+530d903a+" + _SPEC_KEY64, "contains a space (U+0020)"),
        ("example.com\u3000foo+530d903a+" + _SPEC_KEY64, "contains a space (U+3000)"),
        ("example.com\tfoo+530d903a+" + _SPEC_KEY64, "contains a space (U+0009)"),
        ("example.com\x01foo+530d903a+" + _SPEC_KEY64, "contains control character U+0001"),
        ("example.com\ud800+530d903a+" + _SPEC_KEY64, "is not valid UTF-8"),
    ],
)
def test_bad_vkeys(vkey: str, fragment: str) -> None:
    with raises(fragment):
        Verifier.from_vkey(vkey)


def test_every_proper_substring_of_a_key_is_rejected() -> None:
    for key, parse in ((SPEC_VKEY, Verifier.from_vkey), (GO_SKEY, Signer.from_skey)):
        for i in range(len(key)):
            for j in range(i + 1, len(key) + 1):
                if (i, j) != (0, len(key)):
                    with pytest.raises(SignatureError):
                        parse(key[i:j])


_GO_SEED64 = GO_SKEY.split("+", 4)[4]  # the base64 itself holds a "+"
_GO_SEED = base64.b64decode(_GO_SEED64)[1:]


@pytest.mark.parametrize(
    ("skey", "fragment"),
    [
        (GO_SKEY.replace("PRIVATE+KEY", "private+key"), "does not start with 'PRIVATE+KEY+'"),
        (GO_SKEY.removeprefix("PRIVATE+KEY+"), "does not start with 'PRIVATE+KEY+'"),
        (GO_SKEY.replace("c74f20a3", "c74f20a4"), "signer key ID c74f20a4 does not match key"),
        (GO_SKEY.replace("PeterNeumann", "PaulNeumann"), "does not match key PaulNeumann"),
        (GO_SKEY.replace("c74f20a3", "C74F20A3"), "is not 8 lowercase hex digits"),
        (
            "PRIVATE+KEY+PeterNeumann+c74f20a3+" + _b64(b"\x02" + _GO_SEED),
            "signer key type 0x02 is not supported",
        ),
        (
            "PRIVATE+KEY+PeterNeumann+c74f20a3+" + _b64(b"\x01" + _GO_SEED[:31]),
            "signer key has 31 bytes of Ed25519 key, want 32",
        ),
        ("PRIVATE+KEY+PeterNeumann+c74f20a3+", "signer key material is empty"),
        ("PRIVATE+KEY+PeterNeumann+c74f20a3+" + _GO_SEED64 + "=", "not canonical base64"),
        ("PRIVATE+KEY+PeterNeumann+c74f20a3+" + _GO_SEED64[:-1], "not valid base64"),
        ("PRIVATE+KEY+PeterNeumann+c74f20a3", "signer key has no key after its key ID"),
        ("PRIVATE+KEY+PeterNeumann", "signer key has no '+' after its name"),
        ("PRIVATE+KEY++c74f20a3+" + _GO_SEED64, "signer key name is empty"),
        ("PRIVATE+KEY+Peter Neumann+c74f20a3+" + _GO_SEED64, "contains a space"),
    ],
)
def test_bad_skeys(skey: str, fragment: str) -> None:
    with raises(fragment) as info:
        Signer.from_skey(skey)
    assert _GO_SEED64[1:20] not in str(info.value)  # never echo private key material


def test_bad_key_construction() -> None:
    with raises("has 31 bytes of Ed25519 key"):
        Verifier("example.com/foo", 0x530D903A, _PUB[:31])
    with raises("verifier key ID 00000000 does not match"):
        Verifier("example.com/foo", 0, _PUB)
    with raises("has 16 bytes of seed"):
        Signer.from_seed("a", bytes(16))
    with raises("signer key ID 00000000 does not match"):
        Signer("PeterNeumann", 0, _GO_SEED)
    with raises("signer key name 'a+b' contains '+'"):
        Signer.generate("a+b")
    with raises("key name is empty"):
        key_id("", _PUB)
    with raises("public key has 3 bytes"):
        key_id("a", b"abc")


# ---- malformed notes -----------------------------------------------------------------------------

_LINE = sign_note("x\n", ALICE).split("\n\n", 1)[1]  # "— alice.example/log <base64>\n"
_B64 = _LINE.split(" ")[2].rstrip("\n")


def _noncanonical(b64: str) -> str:
    """The same bytes with the unused low bits of the last data character set."""
    stripped = b64.rstrip("=")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = alphabet.index(stripped[-1])
    return stripped[:-1] + alphabet[last | 0b11] + b64[len(stripped) :]


@pytest.mark.parametrize(
    ("note", "fragment"),
    [
        ("x\n" + _LINE, "note has no blank line separating text and signatures"),
        ("", "note has no blank line"),
        ("x\n\n", "note has no signature lines after its last blank line"),
        ("x\n\n" + _LINE + "\n", "note has no signature lines after its last blank line"),
        ("x\n\n" + _LINE.rstrip("\n"), "note does not end with a newline"),
        ("x\ty\n\n" + _LINE, "note line 1 contains control character U+0009"),
        ("x\n\ry\n\n" + _LINE, "note line 2 contains control character U+000D"),
        ("x\n\n" + _LINE.replace(" ", "\x00", 1), "note line 3 contains control character U+0000"),
        ("x\ud800\n\n" + _LINE, "note is not valid UTF-8"),
        ("x\n\n" + _LINE.replace("—", "-"), "signature line 1 does not start with an em dash"),
        ("x\n\n" + _LINE.replace("— ", "—"), "signature line 1 does not start with an em dash"),
        ("x\n\n" + _LINE + "-- a b\n", "signature line 2 does not start with an em dash"),
        ("x\n\n— alice.example/log !!!!\n", "signature line 1: signature is not valid base64"),
        ("x\n\n— alice.example/log " + _B64 + "=\n", "signature is not valid base64"),
        ("x\n\n— alice.example/log " + _B64.rstrip("=") + "\n", "not valid base64"),
        ("x\n\n— alice.example/log  " + _B64 + "\n", "not valid base64"),
        ("x\n\n— alice.example/log " + _noncanonical(_B64) + "\n", "not canonical base64"),
        ("x\n\n— alice.example/log AAAA\n", "signature line 1: signature has 3 bytes"),
        ("x\n\n— alice.example/log AAAAAA==\n", "signature has 4 bytes"),
        ("x\n\n— alice.example/log\n", "signature line 1 has no signature after key name"),
        ("x\n\n— alice.example/log \n", "has no signature after key name"),
        ("x\n\n—  " + _B64 + "\n", "signature line 1: key name is empty"),
        ("x\n\n— a+b " + _B64 + "\n", "signature line 1: key name 'a+b' contains '+'"),
        ("x\n\n— a\u00a0b " + _B64 + "\n", "contains a space (U+00A0)"),
        ("x\n\n— a\u2028b " + _B64 + "\n", "contains a space (U+2028)"),
        (
            "x\n\n" + _LINE * (MAX_SIGNATURES + 1),
            f"note has {MAX_SIGNATURES + 1} signatures, more than {MAX_SIGNATURES}",
        ),
    ],
)
def test_bad_notes(note: str, fragment: str) -> None:
    with raises(fragment):
        parse_note(note)
    with raises(fragment):
        open_note(note, ALICE.verifier())


def test_noncanonical_helper_changes_only_padding_bits() -> None:
    assert _noncanonical(_B64) != _B64
    assert base64.b64decode(_noncanonical(_B64)) == base64.b64decode(_B64)


def test_the_signature_limit_is_inclusive() -> None:
    note = sign_note(TEXT, ALICE) + _LINE * (MAX_SIGNATURES - 1)
    assert len(parse_note(note).signatures) == MAX_SIGNATURES


def test_bad_texts_to_sign() -> None:
    with raises("note text does not end with a newline"):
        sign_note("no newline", ALICE)
    with raises("note text line 2 contains control character U+001B"):
        sign_note("ok\n\x1b[31m\n", ALICE)
    with raises("note text is not valid UTF-8"):
        sign_note("\udfff\n", ALICE)
    with raises("a note needs at least one signer"):
        sign_note("x\n")
    with raises(f"at most {MAX_SIGNATURES} signatures"):
        sign_note("x\n", *[ALICE] * (MAX_SIGNATURES + 1))


# ---- malformed checkpoints -----------------------------------------------------------------------

_ROOT64 = base64.b64encode(ROOT).decode()


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (f"o\n012\n{_ROOT64}\n", "checkpoint tree size '012' has a leading zero"),
        (f"o\n00\n{_ROOT64}\n", "checkpoint tree size '00' has a leading zero"),
        (f"o\n-1\n{_ROOT64}\n", "checkpoint tree size '-1' is not a decimal number"),
        (f"o\n+1\n{_ROOT64}\n", "'+1' is not a decimal number"),
        (f"o\n 1\n{_ROOT64}\n", "' 1' is not a decimal number"),
        (f"o\n1_000\n{_ROOT64}\n", "'1_000' is not a decimal number"),
        (f"o\n\u0663\n{_ROOT64}\n", "is not a decimal number"),  # ARABIC-INDIC DIGIT THREE
        (f"o\n0x10\n{_ROOT64}\n", "is not a decimal number"),
        (f"o\n\n{_ROOT64}\n", "checkpoint tree size (line 2) is empty"),
        (f"o\n{MAX_TREE_SIZE + 1}\n{_ROOT64}\n", "is larger than"),
        (f"o\n{'9' * 5000}\n{_ROOT64}\n", "is larger than"),
        (f"o\n1\n{_b64(ROOT[:31])}\n", "checkpoint root hash is 31 bytes, want 32"),
        (f"o\n1\n{_b64(ROOT + b'!')}\n", "checkpoint root hash is 33 bytes, want 32"),
        ("o\n1\nnot base64!\n", "checkpoint root hash (line 3) is not valid base64"),
        (f"o\n1\n{_noncanonical(_ROOT64)}\n", "checkpoint root hash (line 3) is not canonical"),
        ("o\n1\n\n", "checkpoint root hash (line 3) is empty"),
        (f"\n1\n{_ROOT64}\n", "checkpoint origin (line 1) is empty"),
        (f"o\n1\n{_ROOT64}\n\n", "checkpoint extension line 4 is empty"),
        (f"o\n1\n{_ROOT64}\next\n\nmore\n", "checkpoint extension line 5 is empty"),
        ("o\n1\n", "checkpoint text has 2 lines, want at least 3"),
        ("", "checkpoint text does not end with a newline"),
        (f"o\n1\n{_ROOT64}", "checkpoint text does not end with a newline"),
        (f"o\t\n1\n{_ROOT64}\n", "checkpoint text line 1 contains control character U+0009"),
    ],
)
def test_bad_checkpoints(text: str, fragment: str) -> None:
    with raises(fragment):
        Checkpoint.parse(text)


def test_bad_checkpoint_construction() -> None:
    with raises("checkpoint tree size -1 is negative"):
        Checkpoint("o", -1, ROOT)
    with raises("checkpoint root hash is 31 bytes, want 32"):
        Checkpoint("o", 1, ROOT[:31])
    with raises("checkpoint origin is empty"):
        Checkpoint("", 1, ROOT)
    with raises("checkpoint origin contains a newline"):
        Checkpoint("o\n1", 1, ROOT)
    with raises("checkpoint extension line 5 is empty"):
        Checkpoint("o", 1, ROOT, ("ext", ""))
    with raises("checkpoint tree size True is not an integer"):
        Checkpoint("o", True, ROOT)


def test_checkpoint_origin_must_be_the_key_name() -> None:
    cp = Checkpoint("example.com/other-log", 1, ROOT)
    with raises(
        f"checkpoint origin 'example.com/other-log' does not match signer key name '{ALICE.name}'"
    ):
        sign_checkpoint(cp, ALICE)
    signed = sign_note(cp.text(), ALICE)  # a validly signed note, but for another log
    assert open_note(signed, ALICE.verifier()).text == cp.text()
    with raises(
        f"checkpoint origin 'example.com/other-log' does not match key name '{ALICE.name}'"
    ):
        open_checkpoint(signed, ALICE.verifier())


def test_open_checkpoint_rejects_a_note_that_is_no_checkpoint() -> None:
    with raises("checkpoint text has 1 line, want at least 3"):
        open_checkpoint(sign_note("hello\n", ALICE), ALICE.verifier())


# ---- properties ----------------------------------------------------------------------------------

_chars = st.characters(min_codepoint=0x20, exclude_categories=["Cs"])
_lines = st.lists(st.text(_chars, max_size=30), min_size=1, max_size=6)
_names = st.text(
    st.characters(min_codepoint=0x21, exclude_categories=["Cs", "Cc", "Zs", "Zl", "Zp"]),
    min_size=1,
    max_size=16,
).filter(lambda s: "+" not in s and not any(c.isspace() for c in s))


@settings(max_examples=75, deadline=None)
@given(lines=_lines, name=_names, seed=st.binary(min_size=32, max_size=32))
def test_random_texts_sign_and_verify(lines: list[str], name: str, seed: bytes) -> None:
    text = "\n".join(lines) + "\n"
    s = Signer.from_seed(name, seed)
    assert Signer.from_skey(s.skey()) == s
    assert Verifier.from_vkey(s.verifier().vkey()) == s.verifier()
    note = sign_note(text, s, BOB)
    opened = open_note(note, s.verifier())
    assert opened.text == text
    assert opened.signatures == (NoteSignature(s.name, s.key_id, s.sign(text.encode())),)
    assert parse_note(note).signatures[1].name == BOB.name


@settings(max_examples=75, deadline=None)
@given(
    origin=st.text(_chars, min_size=1, max_size=30),
    size=st.integers(0, MAX_TREE_SIZE),
    root=st.binary(min_size=32, max_size=32),
    extensions=st.lists(st.text(_chars, min_size=1, max_size=20), max_size=3).map(tuple),
)
def test_checkpoint_text_round_trips(
    origin: str, size: int, root: bytes, extensions: tuple[str, ...]
) -> None:
    cp = Checkpoint(origin, size, root, extensions)
    assert Checkpoint.parse(cp.text()) == cp


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.text(),
        st.binary().map(lambda b: b.decode("utf-8", "surrogateescape")),
        st.lists(st.sampled_from(["\n", "—", " ", "+", "=", "0", "A", _B64, "a"])).map("".join),
    )
)
def test_garbage_only_raises_signature_error(garbage: str) -> None:
    for parse in (
        parse_note,
        lambda g: open_note(g, ALICE.verifier()),
        lambda g: open_checkpoint(g, ALICE.verifier()),
        Checkpoint.parse,
        Verifier.from_vkey,
        Signer.from_skey,
    ):
        with contextlib.suppress(SignatureError):
            parse(garbage)
