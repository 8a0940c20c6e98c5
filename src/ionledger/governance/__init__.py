"""Governance: the registry, credentials, access control and the rules applied on capture."""
