"""`trialdesk simulate`, `trialdesk simulate grid` and `trialdesk synth` on the study protocol."""

from __future__ import annotations

import json

from click.testing import CliRunner

from trialdesk.cli import main
from trialdesk.paths import DEFAULT_PROTOCOL

PROTOCOL = str(DEFAULT_PROTOCOL)


def _run(*args: str):  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def test_simulate_prints_json_with_one_object_per_effect() -> None:
    result = _run(
        "simulate", PROTOCOL, "--reps", "4000", "--effect", "0.67", "--effect", "0",
        "--seed", "1", "--analysis", "t", "--workers", "1", "--json",
    )  # fmt: skip
    rows = json.loads(result.stdout)
    assert [r["effect"] for r in rows] == [0.67, 0.0]
    for row in rows:
        for key in ("effect", "reject", "reject_per_look", "stop_interim", "expected_n",
                    "mcse_reject", "bias", "mcse_bias", "stop_safety"):  # fmt: skip
            assert key in row
        assert len(row["reject_per_look"]) == 2
        assert row["boundary"]["n_per_look"] == [40, 80]
        assert row["safety_rule"] == "related_sae_bayes"
    assert rows[0]["reject"] > 0.6 > 0.1 > rows[1]["reject"]


def test_simulate_defaults_come_from_the_protocol_and_print_a_table() -> None:
    result = _run("simulate", PROTOCOL, "--reps", "2000", "--workers", "1",
                  "--sae-rate", "0.01", "0.2")  # fmt: skip
    assert "ancova analysis" in result.stdout
    assert "0.67" in result.stdout  # the planned effect, next to 0
    assert "Monte Carlo standard error" in result.stdout


def test_simulate_is_the_same_with_run_spelled_out() -> None:
    a = _run("simulate", PROTOCOL, "--reps", "1000", "--analysis", "z", "--json", "--workers", "1")
    b = _run("simulate", "run", PROTOCOL, "--reps", "1000", "--analysis", "z", "--json",
             "--workers", "1")  # fmt: skip
    assert json.loads(a.stdout) == json.loads(b.stdout)


def test_simulate_rejects_an_unknown_safety_rule() -> None:
    result = CliRunner().invoke(main, ["simulate", PROTOCOL, "--safety-rule", "nope"])
    assert result.exit_code != 0
    assert "related_sae_bayes" in result.output  # names the known rules


def test_grid_sweeps_sample_sizes_and_draws_a_plot(tmp_path) -> None:  # type: ignore[no-untyped-def]
    plot = tmp_path / "grid.png"
    result = _run(
        "simulate", "grid", PROTOCOL, "--n-max", "60", "--n-max", "80", "--effect", "0",
        "--effect", "0.67", "--reps", "2000", "--analysis", "t", "--workers", "1",
        "--plot", str(plot), "--json",
    )  # fmt: skip
    rows = json.loads(result.stdout)
    assert [(r["n_max"], r["effect"]) for r in rows] == [
        (60, 0.0),
        (60, 0.67),
        (80, 0.0),
        (80, 0.67),
    ]
    assert rows[3]["reject"] > rows[1]["reject"]
    assert plot.stat().st_size > 10_000


def test_synth_writes_one_table_per_form(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = _run(
        "synth", PROTOCOL, "--participants", "120", "--seed", "2", "--out", str(tmp_path),
        "--json", "--chunk-size", "50",
    )  # fmt: skip
    summary = json.loads(result.stdout)
    assert summary["participants"] == 120
    assert (tmp_path / "mirna.csv").exists() and (tmp_path / "ae.csv").exists()
    assert (tmp_path / "synth.json").exists()
    assert summary["rows"]["screening"] == 120
