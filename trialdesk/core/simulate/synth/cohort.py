"""The latent cohort of one chunk: who is screened, who is eligible, arm, schedule, dropout.

Everything a form needs about a participant that is not itself a form value lives here, as
arrays over the chunk's participants. Distributions follow the clinical notes (postpartum
women after preeclampsia, Bandung; week 1–2 postpartum at screening).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trialdesk.core.simulate.synth.options import SynthOptions

DAY = np.timedelta64(1, "D")
MINUTE = np.timedelta64(1, "m")

#: Scheduled follow-up visits after dosing, in order (codes of the protocol).
FOLLOW_UP = ("D7", "M1", "M3", "M6", "M12", "M24")

# Exclusion prevalences among women referred for screening [proposed].
EXCLUSIONS = {
    "chronic_htn_prepregnancy": 0.06,
    "major_cvd": 0.015,
    "active_infection": 0.03,
    "endothelial_injury_history": 0.015,
    "smoking_active": 0.02,
    "vaping_active": 0.01,
    "alcohol_active": 0.01,
    "drug_addiction": 0.004,
}


@dataclass
class Cohort:
    """Per-participant latent arrays for one chunk (length n)."""

    n: int
    index: np.ndarray  # global participant index
    pid: np.ndarray  # participant ids (str)
    site: np.ndarray
    screen_date: np.ndarray  # datetime64[D]
    age: np.ndarray  # years (float)
    ppd_screen: np.ndarray  # postpartum day at screening
    delivery_date: np.ndarray
    pe_confirmed: np.ndarray
    exclusions: dict[str, np.ndarray]
    able_to_consent: np.ndarray
    signed: np.ndarray
    eligible: np.ndarray
    fail_reasons: np.ndarray  # ";"-joined criterion codes ("" when eligible)
    cs: np.ndarray  # caesarean delivery
    severe: np.ndarray  # preeclampsia with severe features
    randomized: np.ndarray
    treated: np.ndarray  # allocated to the experimental arm
    arm: np.ndarray  # arm code or ""
    rand_number: np.ndarray
    dose_date: np.ndarray  # D0 date (randomized only)
    dosed: np.ndarray
    last_visit: np.ndarray  # index into FOLLOW_UP of the last attended visit (-1: only D0)
    status: np.ndarray  # disposition status code (randomized only)
    frailty: np.ndarray  # shared latent severity (standard normal), drives correlations
    consent_at: np.ndarray  # datetime64[m]
    iv: np.ndarray  # route IV (else IM)
    dose_start: np.ndarray  # datetime64[m]
    dose_minutes: np.ndarray


def make_cohort(
    rng: np.random.Generator,
    *,
    start: int,
    n: int,
    options: SynthOptions,
    sites: tuple[str, ...],
    study_start: np.datetime64,
    experimental: str,
    control: str,
) -> Cohort:
    idx = np.arange(start, start + n)
    site = np.asarray(sites)[rng.integers(0, len(sites), n)]
    pid = np.char.add(np.char.add(site.astype(str), "-"), np.char.zfill(idx.astype(str), 6))
    screen_date = study_start + rng.integers(0, options.recruitment_days, n) * DAY
    age = np.clip(rng.normal(29.5, 6.0, n), 15.0, 55.0)
    ppd = rng.integers(2, 17, n)  # a few beyond day 14 fail I5
    frailty = rng.standard_normal(n)
    pe_confirmed = rng.random(n) < 0.97
    exclusions = {k: rng.random(n) < p for k, p in EXCLUSIONS.items()}
    able = rng.random(n) < 0.99
    signed = rng.random(n) < 0.96
    reasons = _fail_reasons(age, ppd, pe_confirmed, exclusions, able & signed)
    eligible = reasons == ""
    cs = rng.random(n) < 0.55
    severe = rng.random(n) < 1.0 / (1.0 + np.exp(-(0.1 + 0.9 * frailty)))
    randomized = eligible & (rng.random(n) < options.randomized_if_eligible)
    treated = _permuted_blocks(rng, randomized, cs, severe)
    arm = np.where(randomized, np.where(treated, experimental, control), "")
    rand_no = np.where(randomized, np.char.add("R", np.char.zfill(idx.astype(str), 6)), "")
    # Dosing 0–2 days after screening, never beyond postpartum day 14 (hard edit check).
    gap = np.minimum(rng.integers(0, 3, n), np.maximum(14 - ppd, 0))
    dose_date = screen_date + gap * DAY
    dosed = randomized & (rng.random(n) > 0.01)
    last_visit, status = _follow_up(rng, n, options, dosed)
    consent_at = screen_date + np.timedelta64(8 * 60, "m") + rng.integers(0, 120, n) * MINUTE
    iv = rng.random(n) < 0.9
    start_at = dose_date + np.timedelta64(9 * 60, "m") + rng.integers(0, 240, n) * MINUTE
    start_at = np.maximum(start_at, consent_at + np.timedelta64(60, "m"))
    minutes = np.where(iv, np.clip(np.round(rng.normal(60, 5, n)), 40, 80), rng.integers(1, 4, n))
    return Cohort(
        n=n,
        index=idx,
        pid=pid,
        site=site,
        screen_date=screen_date,
        age=age,
        ppd_screen=ppd,
        delivery_date=screen_date - ppd * DAY,
        pe_confirmed=pe_confirmed,
        exclusions=exclusions,
        able_to_consent=able,
        signed=signed,
        eligible=eligible,
        fail_reasons=reasons,
        cs=cs,
        severe=severe,
        randomized=randomized,
        treated=treated & randomized,
        arm=arm,
        rand_number=rand_no,
        dose_date=dose_date,
        dosed=dosed,
        last_visit=np.where(randomized, last_visit, -2),
        status=np.where(randomized, status, ""),
        frailty=frailty,
        consent_at=consent_at,
        iv=iv,
        dose_start=start_at,
        dose_minutes=minutes.astype(np.int64),
    )


def _fail_reasons(age, ppd, pe, exclusions, consent) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Codes of the protocol's criteria that fail, mirroring its expressions (tested)."""
    rows = [
        ("I2", (np.floor(age) < 18) | (np.floor(age) > 50)),
        ("I4", ~pe),
        ("I5", ppd > 14),
        ("I6", ~consent),
        ("E1", exclusions["chronic_htn_prepregnancy"]),
        ("E2", exclusions["major_cvd"]),
        ("E3", exclusions["active_infection"]),
        ("E4", exclusions["endothelial_injury_history"]),
        (
            "E5",
            exclusions["smoking_active"]
            | exclusions["vaping_active"]
            | exclusions["alcohol_active"]
            | exclusions["drug_addiction"],
        ),
    ]
    out = np.full(age.size, "", dtype=object)
    for code, fails in rows:
        out[fails] = np.where(out[fails] == "", code, out[fails] + ";" + code)
    return out.astype(str)


def _permuted_blocks(rng, randomized, cs, severe) -> np.ndarray:  # type: ignore[no-untyped-def]
    """1:1 permuted blocks of 2 or 4 within strata (delivery mode × severe features)."""
    treated = np.zeros(randomized.size, dtype=bool)
    for stratum in range(4):
        members = np.nonzero(randomized & ((cs * 2 + severe) == stratum))[0]
        arms: list[np.ndarray] = []
        total = 0
        while total < members.size:
            size = int(rng.choice((2, 4)))
            arms.append(rng.permutation(np.repeat([True, False], size // 2)))
            total += size
        if members.size:
            treated[members] = np.concatenate(arms)[: members.size]
    return treated


def _follow_up(rng, n, options: SynthOptions, dosed) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """Last attended follow-up visit and end-of-study status.

    A participant misses the primary (day-7) endpoint with probability ``options.dropout``,
    then drops out with probability ``options.later_dropout`` between later visits.
    """
    last = np.full(n, len(FOLLOW_UP) - 1)
    early = rng.random(n) < options.dropout
    last[early] = -1
    for k in range(len(FOLLOW_UP) - 1):
        drop = ~early & (last == len(FOLLOW_UP) - 1) & (rng.random(n) < options.later_dropout)
        last[drop] = k
    reasons = np.array(["WITHDREW_CONSENT", "LOST_TO_FOLLOW_UP", "PHYSICIAN_DECISION",
                        "NEW_PREGNANCY", "OTHER"])  # fmt: skip
    pick = reasons[rng.choice(5, size=n, p=[0.4, 0.4, 0.08, 0.07, 0.05])]
    status = np.where(last == len(FOLLOW_UP) - 1, "COMPLETED", pick)
    status = np.where(dosed, status, "PHYSICIAN_DECISION")
    last = np.where(dosed, last, -1)
    return last, status
