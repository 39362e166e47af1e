"""Environments for tests that start a real server process on a database of its own.

SQLite: a file in the test's tmp_path. PostgreSQL: a scratch database created next to the one
DATABASE_URL names and dropped afterwards (skips when DATABASE_URL is not PostgreSQL).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest


def server_env(**extra: str) -> dict:
    """The current environment for a child process, with Django's settings left to it."""
    env = dict(os.environ)
    env.update(extra)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


def sqlite_env(tmp_path: Path, name: str) -> dict:
    return server_env(
        DATABASE_URL=f"sqlite:///{tmp_path / f'{name}.sqlite3'}", TRIALDESK_DATA_DIR=str(tmp_path)
    )


@contextlib.contextmanager
def postgres_env(tmp_path: Path, prefix: str) -> Iterator[dict]:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        pytest.skip("DATABASE_URL does not point at PostgreSQL")
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    base = url.rsplit("/", 1)[0]
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server_env(DATABASE_URL=f"{base}/{name}", TRIALDESK_DATA_DIR=str(tmp_path))
    finally:
        with psycopg.connect(base + "/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_script(module: str, env: dict, *args: str) -> str:
    """Run `python -m module args…` in `env`; its last line of output (it must succeed)."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]
