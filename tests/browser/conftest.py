from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _patient_expectations() -> None:
    """Playwright's expect() waits 5 s by default; a Streamlit page's first render on this shared, busy
    machine can take longer (the failures showed the app still "Running..."). Waiting longer never
    passes a wrong page: the assertions still have to hold."""
    from playwright.sync_api import expect

    expect.set_options(timeout=30_000)
