import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# The tell audit's interval refits its model on every bootstrap replicate: too slow to run
# at every launch of the suite, so off by default here (no interval, no gate); the tests of
# the audit and the end-to-end study set their own.
os.environ.setdefault("NEWSEVAL_TELL_AUDIT_REPLICATES", "0")

pytest_plugins = ["tests.factories", "tests.model_fixtures"]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Users made and logged in by tests hash with MD5: the real hasher (PBKDF2, about
    0.45 s a password here) adds minutes to the suite and is not what any test checks."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
