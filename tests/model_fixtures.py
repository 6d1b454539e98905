"""Session-wide fixtures that load real models (for ``@pytest.mark.slow`` tests).

Loaded by the root conftest (``pytest_plugins = ["tests.model_fixtures"]``); every slow test
shares the one SmolLM2 backend, so the model is loaded once per test session.
"""

from __future__ import annotations

import os

import pytest

SMOLLM2_THREADS = int(os.environ.get("NEWSEVAL_TEST_THREADS", "0")) or None


@pytest.fixture(scope="session")
def smollm2():
    """The default registry model (SmolLM2-135M-Instruct GGUF, fp32), opened once."""
    from generator import get_model, open_backend

    return open_backend(get_model("smollm2-135m"), threads=SMOLLM2_THREADS)
