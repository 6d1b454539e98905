import os
import subprocess
import sys

import pytest


def run_check(env_overrides):
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "ALLOWED_HOSTS", "DEBUG")}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", "check"], env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    "env, message",
    [
        ({"DEBUG": "False", "ALLOWED_HOSTS": "x.org"}, "SECRET_KEY must be set"),
        ({"DEBUG": "False", "SECRET_KEY": "k" * 50}, "ALLOWED_HOSTS must be set"),
        ({"DEBUG": "maybe"}, "DEBUG='maybe' is not a boolean"),
    ],
)
def test_production_refuses_to_start_without_secrets(env, message):
    result = run_check(env)
    assert result.returncode != 0
    assert message in result.stderr


def test_deploy_check_clean_under_production_settings():
    env = {k: v for k, v in os.environ.items()}
    env.update({"DEBUG": "False", "SECRET_KEY": "s3cr3t-" + "x" * 60, "ALLOWED_HOSTS": "a.org"})
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 silenced" in result.stdout


def test_health_endpoint(client, db):
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["database"]["ok"] and body["broker"]["mode"] == "redis"
    assert body["broker"]["ok"], "the test Redis should be reachable"
