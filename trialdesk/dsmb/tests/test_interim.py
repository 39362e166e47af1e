"""The interim analysis: due counts, the run end to end, who may see and run it, the audit."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
from click.testing import CliRunner
from scipy import stats

from trialdesk.audit.models import AuditEvent
from trialdesk.core.analysis import monitoring_design
from trialdesk.core.sequential import interim_analysis
from trialdesk.dsmb import interim as svc
from trialdesk.dsmb.actions import do_run_interim
from trialdesk.dsmb.models import InterimRun
from trialdesk.dsmb.tests.helpers import dose, ready, setup_list
from trialdesk.dsmb.tests.interim_helpers import enter_d7_mirna

BASE = "/staff/NCT07183384/dsmb/interim/"
ARM_WORDS = ("EXO", "PBO", "exosome", "placebo")
BLINDED = ("coord_a", "inv_a", "monitor", "dm", "stat")


@pytest.fixture
def observed(personas):
    """Six randomized and dosed participants with a day-7 value (arms as the list draws)."""
    setup_list(personas)
    rng = np.random.default_rng(7)
    out = []
    for _ in range(6):
        p = ready(personas)
        a = dose(personas, p)
        shift = 0.8 if a.arm == "EXO" else 0.0
        value = enter_d7_mirna(personas, p, float(round(rng.normal(shift, 1.0), 2)))
        out.append((p, a.arm, value))
    return out


def test_plan_reads_the_protocol(personas):
    p = svc.plan("NCT07183384")
    assert (p.form, p.item, p.visit) == ("mirna", "log2_fold_change", "D7")
    assert (p.treatment_arm, p.control_arm) == ("EXO", "PBO")
    assert (p.n_planned_max, p.due_at) == (80, 40)  # 40 per arm x 2; half of them
    assert p.planned_effect == pytest.approx(0.67)


def test_due_counts_and_not_due(observed, monkeypatch):
    s = svc.due_state("NCT07183384")
    assert (s.n_with_endpoint, s.due_at, s.due) == (6, 40, False)
    by_arm = svc.endpoint_values("NCT07183384")
    assert sum(len(v) for v in by_arm.values()) == 6
    for p, arm, value in observed:
        assert (p.pk, value) in by_arm[arm]
    # the same count against a plan due at 6 (the rule, not the protocol's 40)
    real = svc.plan("NCT07183384")
    monkeypatch.setattr(svc, "plan", lambda study: real.__class__(**{**real.__dict__, "due_at": 6}))
    assert svc.due_state("NCT07183384").due is True


def test_values_without_allocation_or_at_another_visit_do_not_count(observed, personas):
    # a screened, not randomized participant has no arm: her values do not count
    assert svc.due_state("NCT07183384").n_with_endpoint == 6


def _independent(values, n_max=80):
    """By hand with numpy/scipy: pooled t-test statistic read on the normal scale."""
    t = np.array([v for _p, arm, v in values if arm == "EXO"])
    c = np.array([v for _p, arm, v in values if arm == "PBO"])
    tt = stats.ttest_ind(t, c, equal_var=True)
    est = t.mean() - c.mean()
    sp2 = ((len(t) - 1) * t.var(ddof=1) + (len(c) - 1) * c.var(ddof=1)) / (len(t) + len(c) - 2)
    se = math.sqrt(sp2 * (1 / len(t) + 1 / len(c)))
    assert est / se == pytest.approx(float(tt.statistic), rel=1e-10)
    return len(t), len(c), est, se, est / se, (len(t) + len(c)) / n_max


def test_run_end_to_end_matches_an_independent_computation(observed, personas):
    n_t, n_c, est, se, z, frac = _independent(observed)
    before = AuditEvent.objects.order_by("-seq").first().seq
    run = do_run_interim("NCT07183384", personas["ustat"])
    assert run.data_cut_seq == before
    assert (run.n_treatment, run.n_control) == (n_t, n_c)
    assert run.estimate == pytest.approx(est, rel=1e-12)
    assert run.standard_error == pytest.approx(se, rel=1e-12)
    assert run.z == pytest.approx(z, rel=1e-12)
    assert run.information_fraction == pytest.approx(frac)
    design, converted = monitoring_design(
        information_fractions=(0.5, 1.0),
        alpha=0.05,
        sided=2,
        power=0.8,
        efficacy_spending="asOF",
        futility_spending="bsOF",
        binding=False,
    )
    assert converted and design.alpha == pytest.approx(0.025)
    ref = interim_analysis(
        design=design, information_fraction=[frac], z=z, estimate=est, standard_error=se
    )
    assert run.critical_value == pytest.approx(ref.critical_value, rel=1e-9)
    assert run.decision == ref.decision
    assert run.conditional_power_trend == pytest.approx(ref.conditional_power_trend, rel=1e-9)
    assert run.rci_lower == pytest.approx(est - ref.critical_value * se, rel=1e-9)
    assert run.rci_upper == pytest.approx(est + ref.critical_value * se, rel=1e-9)
    # the stored hash is the hash of the stored result
    text = json.dumps(run.result, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    import hashlib

    assert run.result_sha256 == hashlib.sha256(text.encode()).hexdigest()
    # the audit event: that it ran, the data cut and the hash; no arm, no by-arm number
    ev = AuditEvent.objects.get(action="dsmb.interim_run")
    assert ev.new_value["result_sha256"] == run.result_sha256
    assert ev.new_value["data_cut_seq"] == before
    blob = json.dumps([ev.old_value, ev.new_value, ev.reason])
    for word in ARM_WORDS:
        assert word not in blob
    assert set(ev.new_value) == {"run_at", "data_cut_seq", "protocol_sha256", "result_sha256"}


def test_only_the_unblinded_statistician_runs_it(observed, personas):
    from django.core.exceptions import PermissionDenied

    for who in ("dsmb", "stat", "pharm_a", "admin", "coord_a"):
        with pytest.raises(PermissionDenied):
            do_run_interim("NCT07183384", personas[who])
    assert not InterimRun.objects.exists()


def test_the_command(observed, personas):
    from trialdesk.cli import main

    runner = CliRunner()
    r = runner.invoke(main, ["interim", "run", "--study", "NCT07183384", "--user", "stat"])
    assert r.exit_code != 0 and "only the unblinded statistician" in r.output
    r = runner.invoke(main, ["interim", "status", "--study", "NCT07183384"])
    assert r.exit_code == 0 and "6 of 80 participants" in r.output and "due at 40" in r.output
    r = runner.invoke(main, ["interim", "run", "--study", "NCT07183384", "--user", "ustat"])
    assert r.exit_code == 0, r.output
    run = InterimRun.objects.get()
    assert f"z = {run.z:.4f}" in r.output and run.result_sha256 in r.output


def _main(html: str) -> str:
    m = re.search(r"<main.*?</main>", html, re.S)
    return m.group(0) if m else html


def test_pages(observed, personas, login):
    client = login("ustat")
    html = client.get(BASE).content.decode()
    assert "6 of 80 participants have the D7 primary endpoint" in html
    assert "Run the interim analysis" in html
    r = client.post(BASE)
    assert r.status_code == 302
    run = InterimRun.objects.get()
    html = client.get(BASE).content.decode()
    assert f"{run.z:.4f}" in html and "EXO" in html
    html = login("dsmb").get(BASE).content.decode()
    assert f"{run.z:.4f}" in html and "Run the interim analysis" not in html
    assert login("dsmb").post(BASE).status_code == 403
    for who in BLINDED:
        c = login(who)
        r = c.get(BASE)
        assert r.status_code == 200, who
        main = _main(r.content.decode())
        assert "6 of 80 participants" in main and "not yet due" in main, who
        for word in ARM_WORDS:
            assert word not in main, (who, word)
        assert f"{run.z:.4f}" not in main and "Run the interim" not in main, who
        assert c.post(BASE).status_code == 403, who
    assert InterimRun.objects.count() == 1


def test_audit_verify_reconciles_interim_runs(observed, personas):
    from trialdesk.audit.reconcile import reconcile

    run = do_run_interim("NCT07183384", personas["ustat"])
    mine = lambda: [m for m in reconcile() if m.object_type == "dsmb.interimrun"]  # noqa: E731
    assert mine() == []
    InterimRun.objects.filter(pk=run.pk).update(result_sha256="0" * 64)
    found = {m.object_id: m.problem for m in mine()}
    assert "result_sha256" in found[str(run.pk)]
