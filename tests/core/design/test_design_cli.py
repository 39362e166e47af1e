"""`trialdesk design power | sequential | report` (click, no Django)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from trialdesk.commands.design import design
from trialdesk.paths import DEFAULT_PROTOCOL


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(design, list(args))
    return result.exit_code, result.output


def test_power_seed_json() -> None:
    code, out = _run(
        "power", "--test", "t", "--alpha", "0.05", "--sided", "2", "--power", "0.8",
        "--effect", "0.67", "--dropout", "0.1", "--json",
    )  # fmt: skip
    assert code == 0, out
    data = json.loads(out)
    assert data["n_per_group"] == 36
    assert data["n_per_group_with_dropout"] == 40
    assert data["effect"] == 0.67
    assert data["power"] == 0.8
    assert data["alpha"] == 0.05


def test_power_solves_effect_from_n_per_group() -> None:
    code, out = _run("power", "--n-per-group", "36", "--power", "0.8", "--json")
    assert code == 0, out
    assert json.loads(out)["effect"] == pytest.approx(0.669572, abs=1e-5)


def test_power_solves_alpha_when_everything_else_is_given() -> None:
    code, out = _run("power", "--n-per-group", "36", "--power", "0.8", "--effect", "0.67", "--json")
    assert code == 0, out
    assert json.loads(out)["alpha"] == pytest.approx(0.05, abs=1e-3)


def test_power_table_output() -> None:
    code, out = _run("power", "--effect", "0.5", "--power", "0.9")
    assert code == 0
    assert "n_per_group" in out


def test_power_rejects_alpha_one() -> None:
    code, out = _run("power", "--effect", "0.5", "--power", "0.9", "--alpha", "1")
    assert code == 2
    assert "alpha = 1.0 is not allowed" in out


def test_sequential_json_keys() -> None:
    code, out = _run(
        "sequential", "--k", "2", "--timing", "0.5,1", "--alpha", "0.025", "--sided", "1",
        "--spending", "asOF", "--beta", "0.2", "--futility", "bsOF", "--binding", "--json",
    )  # fmt: skip
    assert code == 0, out
    data = json.loads(out)
    for key in ("critical_values", "alpha_spent", "stage_levels", "futility_bounds",
                "inflation_factor"):  # fmt: skip
        assert key in data
    assert len(data["critical_values"]) == 2
    assert len(data["futility_bounds"]) == 1
    assert data["alpha_spent"][-1] == pytest.approx(0.025)


def test_sequential_two_sided_parameterised_family_table() -> None:
    code, out = _run(
        "sequential", "--k", "4", "--alpha", "0.05", "--sided", "2", "--spending", "asHSD:-4"
    )
    assert code == 0, out
    assert "critical" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--timing", "0.5,0.4,1"], "strictly increasing"),
        (["--k", "21"], "K must be an integer from 1 to 20"),
        (["--k", "2", "--spending", "asXY"], "spending = 'asXY'"),
        (["--k", "2", "--timing", "a,b"], "comma-separated"),
    ],
)
def test_sequential_errors(args: list[str], message: str) -> None:
    code, out = _run("sequential", *args)
    assert code == 2
    assert message in out


def test_report_from_protocol(tmp_path: Path) -> None:
    code, out = _run("report", str(DEFAULT_PROTOCOL), "--out", str(tmp_path), "--json")
    assert code == 0, out
    data = json.loads(out)
    assert data["fixed"]["n_per_group_with_dropout"] == 40
    assert data["implied"]["effect"] == pytest.approx(0.66957, abs=1e-4)
    assert data["design"]["inflation_factor"] > 1
    assert data["power_with_interim"] < 0.8
    assert data["n_per_arm_needed"] > 40
    html = (tmp_path / "index.html").read_text()
    assert "Inflation factor" in html
    assert "Safety stopping rules" in html
    for png in ("boundaries.png", "safety.png"):
        assert (tmp_path / png).read_bytes()[:4] == b"\x89PNG"


def test_interim_seed_37_of_80() -> None:
    code, out = _run(
        "interim", "--timing", "0.5,1", "--alpha", "0.05", "--sided", "2",
        "--observed", "0.4625", "--z", "1.2", "--estimate", "0.4", "--se", "0.33", "--json",
    )  # fmt: skip
    assert code == 0, out
    data = json.loads(out)
    assert data["decision"] == "continue"
    assert data["information_fractions"] == [0.4625, 1.0]
    assert data["critical_value"] == pytest.approx(3.0958, abs=1e-4)
    assert 0 < data["conditional_power_trend"] < data["conditional_power_design"] < 1


def test_interim_table_and_error() -> None:
    code, out = _run("interim", "--k", "2", "--observed", "0.5", "--z", "3.5")
    assert code == 0 and "stop for efficacy" in out
    code, out = _run("interim", "--k", "2", "--observed", "1.2", "--z", "1")
    assert code == 2 and "strictly increasing" in out
