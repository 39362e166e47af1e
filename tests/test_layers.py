"""The layers contract (pyproject.toml, docs/architecture.md) holds, and it is not a contract
that cannot fail: an import of a higher app hidden inside a function of a lower app breaks it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).with_name("lint-imports")
LAYERS = "apps in layers: a lower app never imports a higher one"


def lint(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT), "--no-cache", "--no-logo"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def copy_of_the_code(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    shutil.copytree(
        ROOT / "trialdesk",
        tmp_path / "trialdesk",
        ignore=shutil.ignore_patterns("__pycache__", "locale", "static", "templates"),
    )
    return tmp_path


def test_the_code_keeps_its_layers():
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{LAYERS} KEPT" in result.stdout


def test_a_lower_app_importing_a_higher_one_inside_a_function_breaks_the_contract(tmp_path):
    code = copy_of_the_code(tmp_path)
    services = code / "trialdesk" / "visits" / "services.py"
    services.write_text(
        services.read_text()
        + "\n\ndef _peek_at_allocation(participant):\n"
        + "    from trialdesk.randomization.models import Allocation\n\n"
        + "    return Allocation.objects.filter(participant=participant).first()\n"
    )
    result = lint(code)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{LAYERS} BROKEN" in result.stdout
    assert "trialdesk.visits.services -> trialdesk.randomization.models" in result.stdout
    assert "core is pure: no Django, no apps KEPT" in result.stdout


def test_the_copy_is_what_is_linted(tmp_path):
    """Guard for the test above: an unchanged copy is linted as clean (so the failure comes from
    the injected import, not from linting something else)."""
    result = lint(copy_of_the_code(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_apps_above_fill_participants_hooks_once():
    """participants reacts to visits and enrolment only through these hooks
    (docs/architecture.md)."""
    from trialdesk.enrolment import services as enrolment
    from trialdesk.participants import hooks
    from trialdesk.visits import services as visits

    assert hooks.on_created == [visits.create_initial_visits]
    assert hooks.on_anchor_set == [visits.schedule_on_anchor]
    assert hooks._withdrawal_source == [enrolment.active_withdrawal]
    with pytest.raises(ValueError, match="already registered"):
        hooks.register_on_created(visits.create_initial_visits)
