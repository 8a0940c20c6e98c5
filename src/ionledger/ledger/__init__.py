"""The verifiable log: an RFC 9162 Merkle tree over every accepted event, stored as C2SP tiles,
with signed C2SP checkpoints and inclusion and consistency proofs."""
