"""Settings come from the environment and fail loudly; `trialdesk init` + `serve` work end to end."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

TRIALDESK = str(Path(sys.executable).parent / "trialdesk")


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRIALDESK_", "DATABASE_URL"))}
    env.update({"TRIALDESK_DATA_DIR": str(tmp_path), **extra})
    return env


def _settings_probe(env: dict[str, str]) -> subprocess.CompletedProcess:
    code = "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='trialdesk.site.settings'; django.setup(); from django.conf import settings; print(settings.DATABASES['default']['ENGINE'], settings.DEBUG)"
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )


def test_missing_secret_fails_loudly(tmp_path):
    result = _settings_probe(_env(tmp_path))
    assert result.returncode != 0
    assert "TRIALDESK_SECRET_KEY is not set" in result.stderr


def test_bad_debug_value_is_named(tmp_path):
    env = _env(
        tmp_path,
        TRIALDESK_SECRET_KEY="x",
        TRIALDESK_PII_KEY="y",
        TRIALDESK_AUDIT_KEY="z",
        TRIALDESK_DEBUG="maybe",
    )
    result = _settings_probe(env)
    assert result.returncode != 0
    assert "TRIALDESK_DEBUG='maybe'" in result.stderr


def test_database_url_selects_the_database(tmp_path):
    env = _env(tmp_path, TRIALDESK_SECRET_KEY="x", TRIALDESK_PII_KEY="y", TRIALDESK_AUDIT_KEY="z")
    assert _settings_probe(env).stdout.split()[0] == "django.db.backends.sqlite3"
    env["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/whatever"
    assert _settings_probe(env).stdout.split()[0] == "django.db.backends.postgresql"
    env["DATABASE_URL"] = "nonsense://"
    result = _settings_probe(env)
    assert result.returncode != 0 and "DATABASE_URL='nonsense://'" in result.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_init_creates_admin_once_then_serve_answers(tmp_path):
    env = _env(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    first = subprocess.run(
        [TRIALDESK, "init"], env=env, capture_output=True, text=True, timeout=300
    )
    assert first.returncode == 0, first.stderr
    assert "created the administrator account" in first.stdout
    assert "password '" in first.stdout
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "audit_key").stat().st_mode & 0o777 == 0o600
    second = subprocess.run(
        [TRIALDESK, "init"], env=env, capture_output=True, text=True, timeout=300
    )
    assert second.returncode == 0, second.stderr
    assert "created the administrator" not in second.stdout
    assert "already loaded" in second.stdout

    port = _free_port()
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [TRIALDESK, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        body = b""
        for _ in range(100):  # bounded: at most ~20 s
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/accounts/login/", timeout=2
                ) as r:
                    body = r.read()
                    break
            except OSError:
                time.sleep(0.2)
        assert b"Staff log in" in body
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/static/django_htmx/htmx-2.min.js", timeout=5
        ) as r:
            assert r.status == 200
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/static/trialdesk/site.css", timeout=5
        ) as r:
            assert r.status == 200
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


@pytest.mark.parametrize("command", [["--help"], ["protocol", "--help"]])
def test_cli_help_runs(command):
    result = subprocess.run([TRIALDESK, *command], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
