"""Pure domain code: identifiers, battery attributes, the lifecycle vocabulary. No I/O here."""
