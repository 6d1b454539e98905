import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# The tell audit's interval refits its model on every bootstrap replicate (about 40 s of CPU
# per launch of a two-condition study): too slow to run at every launch of the suite, so off
# by default here (no interval, no gate); the tests of the audit and the end-to-end study set
# their own. The environment variable reaches the worker processes tests start.
os.environ.setdefault("NEWSEVAL_TELL_AUDIT_REPLICATES", "0")

pytest_plugins = ["tests.factories", "tests.model_fixtures", "tests.faults.helpers"]


def pytest_configure(config):
    # pytest-django imported the settings before this file ran, so they still hold the
    # production default: give them the value above.
    from django.conf import settings

    settings.NEWSEVAL_TELL_AUDIT_REPLICATES = int(os.environ["NEWSEVAL_TELL_AUDIT_REPLICATES"])
