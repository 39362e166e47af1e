"""Where the project's files live; no Django here, the CLI and core may use it."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
PROTOCOLS_DIR = PROJECT_DIR / "protocols"
DEFAULT_PROTOCOL = PROTOCOLS_DIR / "nct07183384.yaml"


def data_dir() -> Path:
    """The project's data directory (SQLite file, local secrets, artefacts)."""
    path = Path(os.environ.get("TRIALDESK_DATA_DIR", PROJECT_DIR / "data"))
    path.mkdir(parents=True, exist_ok=True)
    return path
