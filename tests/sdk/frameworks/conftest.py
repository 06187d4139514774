"""Frameworks call the real clients their own way; each test checks its calls arrive once, exactly.

The frameworks come from the `frameworks` test extra (`make test` installs it); the fixtures (fake
provider, fake ingest, an observed SDK) are tests/sdk/conftest.py's.
"""
