"""Use cases: the capture pipeline, rebuild, trace."""
