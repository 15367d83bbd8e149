"""pytest11 entry point: `pytest --notebook SUBMISSION checks/` (filled in by the pytest integration)."""
