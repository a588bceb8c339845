"""The command groups of `psv-admin`, one module each."""
