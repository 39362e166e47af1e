"""The real protocol loads, and its model answers the questions other modules ask."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from pydantic import ValidationError

from trialdesk.core.protocol import FieldType, Protocol, load_protocol
from trialdesk.core.rules import UNKNOWN, Truth
from trialdesk.paths import DEFAULT_PROTOCOL
from trialdesk.testing.eligibility import ELIGIBLE


@pytest.fixture(scope="module")
def p() -> Protocol:
    return load_protocol(DEFAULT_PROTOCOL)


def test_study_identity(p: Protocol) -> None:
    assert p.study.id == "NCT07183384"
    assert p.study.phase == "1/2"
    assert p.study.population.sex == "female"
    assert (p.study.population.min_age, p.study.population.max_age) == (18, 50)
    assert p.sites["01"].city == "Bandung"


def test_arms_one_to_one_with_identical_routes(p: Protocol) -> None:
    assert [(a.code, a.ratio) for a in p.arms.values()] == [("EXO", 1), ("PBO", 1)]
    assert p.arm("EXO").routes == p.arm("PBO").routes == ("IV", "IM")
    assert p.allocation.strata == ("delivery_mode", "pe_severe")


def test_schedule(p: Protocol) -> None:
    soa = p.schedule_of_activities()
    assert list(soa)[:3] == ["SCR", "D0", "D7"]
    assert p.visit("SCR").day < 0
    assert p.randomization_visit().code == "D0"
    assert (p.visit("D7").earliest_day, p.visit("D7").latest_day) == (6, 8)
    assert p.visit("M24").day == 730
    assert not p.visit("UNS").scheduled
    assert "mirna" in soa["D0"] and "mirna" in soa["D7"]
    assert p.visits_of("dosing") == ["D0"]
    assert set(p.log_forms()) == {"ae", "conmed"}


def test_accessors_and_unknown_codes(p: Protocol) -> None:
    hgb = p.field("hematology.hgb")
    assert hgb.type is FieldType.DECIMAL and hgb.unit == "g/dL"
    assert hgb.units == ("g/dL", "g/L", "mmol/L")
    assert hgb.label.id == "Hemoglobin"
    with pytest.raises(KeyError, match="unknown form 'hema'"):
        p.form("hema")
    with pytest.raises(KeyError, match="unknown field of form 'vitals' 'sbpp'"):
        p.field("vitals.sbpp")


def test_models_are_frozen(p: Protocol) -> None:
    with pytest.raises(ValidationError):
        p.study.id = "NCT00000000"  # type: ignore[misc]


def test_eligibility_three_valued(p: Protocol) -> None:
    assert p.evaluate_eligibility(ELIGIBLE).eligible is Truth.TRUE
    missing_age = {k: v for k, v in ELIGIBLE.items() if k != "screening.age"}
    result = p.evaluate_eligibility(missing_age)
    assert result.eligible is Truth.UNKNOWN and result.undetermined() == ["I2"]
    smoker = {**missing_age, "screening.smoking_active": True}
    result = p.evaluate_eligibility(smoker)
    assert result.eligible is Truth.FALSE and result.failing() == ["E5"]
    assert p.evaluate_eligibility({**ELIGIBLE, "screening.age": 51}).failing() == ["I2"]


def test_derivations_days_since_delivery_and_age(p: Protocol) -> None:
    values = {
        "screening.date_of_birth": date(1996, 10, 21),
        "screening.visit_date": date(2025, 10, 20),
        "demog.delivery_date": date(2025, 10, 11),
    }
    assert p.derive("screening", values) == {"age": 28, "postpartum_day": 9}


def test_qpcr_derivations(p: Protocol) -> None:
    values = {
        "ct_mir126": 31.0,
        "ct_cel39": 20.5,
        "ct_mir16": 18.0,
        "ct_mir23a": 24.0,
        "ct_mir451a": 18.5,
        "calibrator_dct": 11.5,
    }
    out = p.derive("mirna", values)
    assert out["dct"] == pytest.approx(10.5)
    assert out["ddct"] == pytest.approx(-1.0)
    assert out["fold_change"] == pytest.approx(2.0)
    assert out["log2_fold_change"] == pytest.approx(1.0)
    assert out["hemolysis_dcq"] == pytest.approx(5.5)
    no_calibrator = p.derive("mirna", {k: v for k, v in values.items() if k != "calibrator_dct"})
    assert no_calibrator["dct"] == pytest.approx(10.5)
    assert no_calibrator["fold_change"] is UNKNOWN


def test_strata_source_derivation(p: Protocol) -> None:
    features = dict.fromkeys(
        ["sf_severe_bp", "sf_thrombocytopenia", "sf_liver", "sf_renal", "sf_pulmonary_edema"],
        False,
    )
    mild = p.derive("demog", {**features, "sf_cerebral_visual": False})
    assert mild["pe_severe"] is False
    assert p.derive("demog", {**features, "sf_cerebral_visual": True})["pe_severe"] is True
    assert p.derive("demog", features)["pe_severe"] is UNKNOWN


def test_stratum_levels(p: Protocol) -> None:
    values = {"demog.delivery_mode": "CS_EMERGENCY", "demog.pe_severe": False}
    assert p.stratum(values) == {"delivery_mode": "CS", "pe_severe": "NOT_SEVERE"}
    assert p.stratum({"demog.delivery_mode": "VAGINAL_SPONT"}) == {
        "delivery_mode": "VAGINAL",
        "pe_severe": None,
    }


def test_collected_once(p: Protocol) -> None:
    assert p.collected_once("demog") and p.collected_once("dosing")
    assert not p.collected_once("hematology")  # SCR, D7, M1, ...
    assert not p.collected_once("vitals") and not p.collected_once("ae")


@pytest.mark.parametrize(
    ("sbp", "dbp", "grade"),
    [(118, 78, 0), (125, 70, 1), (142, 85, 2), (130, 92, 2), (165, 95, 3), (150, 104, 3)],
)
def test_ctcae_hypertension_grade(p: Protocol, sbp, dbp, grade) -> None:
    assert p.derive("vitals", {"sbp": sbp, "dbp": dbp})["htn_grade"] == grade


def test_postpartum_preeclampsia_alert(p: Protocol) -> None:
    check = p.form("vitals").checks["postpartum_preeclampsia"]
    expr = p.compile(check.expression, context="vitals")
    assert expr.truth({"sbp": 145, "dbp": 85, "pe_symptoms": {"HEADACHE"}}) is Truth.FALSE
    assert expr.truth({"sbp": 145, "dbp": 85, "pe_symptoms": set()}) is Truth.TRUE
    assert expr.truth({"sbp": 120, "dbp": 70, "pe_symptoms": {"VISUAL"}}) is Truth.TRUE


def test_treatment_emergent_ae(p: Protocol) -> None:
    values = {
        "dosing.start_at": datetime(2025, 10, 20, 9, 0),
        "onset_at": datetime(2025, 10, 21, 21, 0),
    }
    out = p.derive("ae", values)
    assert out["treatment_emergent"] is True and out["hours_after_dose"] == 36.0


def test_edit_checks_fire_only_on_false(p: Protocol) -> None:
    severe = p.compile(p.form("vitals").checks["severe_range_bp"].expression, context="vitals")
    assert severe.truth({"sbp": 165, "dbp": 95}) is Truth.FALSE  # fires
    assert severe.truth({"sbp": 140, "dbp": 90}) is Truth.TRUE
    assert severe.truth({"sbp": 140}) is Truth.UNKNOWN  # missing dbp: does not fire
    assert severe.truth({"sbp": 140, "dbp": 112}) is Truth.FALSE


def test_design_inputs(p: Protocol) -> None:
    ss = p.sample_size
    assert (ss.alpha, ss.sides, ss.power, ss.dropout, ss.n_per_arm) == (0.05, 2, 0.8, 0.1, 40)
    assert p.interim.information_fractions == (0.5, 1.0)
    assert p.interim.efficacy_spending == "asOF"
    bayes = p.safety_rules["related_sae_bayes"]
    assert bayes.prior_mean == 0.007
    assert bayes.prior_a == pytest.approx(0.07) and bayes.prior_b == pytest.approx(9.93)
    assert p.analyses["primary"].method == "ancova"


def test_consent_version_on(p: Protocol) -> None:
    assert p.consent_version_on(date(2025, 1, 1)).code == "ICF-1.0"
    assert p.consent_version_on(date(2025, 11, 1)).code == "ICF-2.0"
    assert p.consent_version_on(date(2024, 1, 1)) is None


def test_every_expression_compiled_at_load(p: Protocol) -> None:
    keys = {(None, c.expression) for c in p.eligibility.values()}
    keys |= {(f.code, c.expression) for f in p.forms.values() for c in f.checks.values()}
    keys |= {(f.code, x.derived) for f in p.forms.values() for x in f.fields.values() if x.derived}
    assert keys <= set(p._compiled)


def test_loading_twice_returns_the_cached_model(p: Protocol) -> None:
    assert load_protocol(DEFAULT_PROTOCOL) is p
