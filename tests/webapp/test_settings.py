import os
import subprocess
import sys

import pytest

PRODUCTION = {
    "DEBUG": "False",
    "SECRET_KEY": "s3cr3t-" + "x" * 60,
    "ALLOWED_HOSTS": "a.org",
    "NEWSEVAL_PSEUDONYM_SALT": "salt-" + "y" * 40,
}


def run_check(env_overrides):
    hidden = ("SECRET_KEY", "ALLOWED_HOSTS", "DEBUG", "NEWSEVAL_PSEUDONYM_SALT")
    env = {k: v for k, v in os.environ.items() if k not in hidden}
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
        (
            {"DEBUG": "False", "SECRET_KEY": "k" * 50, "ALLOWED_HOSTS": "x.org"},
            "NEWSEVAL_PSEUDONYM_SALT must be set",
        ),
    ],
)
def test_production_refuses_to_start_without_secrets(env, message):
    result = run_check(env)
    assert result.returncode != 0
    assert message in result.stderr


def test_deploy_check_clean_under_production_settings():
    env = {k: v for k, v in os.environ.items()}
    env.update(PRODUCTION)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 silenced" in result.stdout


def test_health_endpoint(admin_client, db):
    response = admin_client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["database"]["ok"] and body["broker"]["mode"] == "redis"
    assert body["broker"]["ok"], "the test Redis should be reachable"
