"""GS1 EPCIS 2.0 events: typed model, JSON codec with extension fields, semantic checks."""
