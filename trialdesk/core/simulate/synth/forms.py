"""Form records of one chunk, as column dictionaries (values are typed later by ``tables``).

Each builder takes the cohort, the visit instances of the form and a generator, and returns
``{column: array}`` with the keys ``participant_id``, ``visit``, ``seq`` and one column per
entered field it knows. Trajectories depend on the postpartum day at the visit; correlations
run through the participant's latent severity (``frailty``) and a per-visit latent shared by
blood pressure and proteinuria.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from trialdesk.core.simulate.synth.cohort import DAY, FOLLOW_UP, MINUTE, Cohort
from trialdesk.core.simulate.synth.options import SynthOptions

Columns = dict[str, np.ndarray]


@dataclass
class Instances:
    """Visit instances (participant × visit) of the chunk."""

    p: np.ndarray  # index into the cohort arrays
    visit: np.ndarray  # visit code
    date: np.ndarray  # datetime64[D]
    latent: np.ndarray  # per-visit shared latent (BP ↔ proteinuria)

    def take(self, mask: np.ndarray) -> Instances:
        return Instances(self.p[mask], self.visit[mask], self.date[mask], self.latent[mask])

    def __len__(self) -> int:
        return int(self.p.size)


def visit_instances(
    c: Cohort, rng: np.random.Generator, options: SynthOptions, windows: dict[str, tuple]
) -> Instances:
    """SCR for everyone screened; D0 and attended follow-up visits for the randomized; an
    early-termination visit for some dropouts and an unscheduled visit for a few."""
    ps, vs, ds = [np.arange(c.n)], [np.full(c.n, "SCR")], [c.screen_date]
    rand = np.nonzero(c.randomized)[0]
    ps.append(rand)
    vs.append(np.full(rand.size, "D0"))
    ds.append(c.dose_date[rand])
    for k, code in enumerate(FOLLOW_UP):
        day, before, after = windows[code]
        attended = c.randomized & (c.last_visit >= k)
        if code != "D7":  # day-7 missingness is the dropout option alone
            attended &= rng.random(c.n) >= options.missed_visit
        idx = np.nonzero(attended)[0]
        offset = day + rng.integers(-before, after + 1, idx.size)
        ps.append(idx)
        vs.append(np.full(idx.size, code))
        ds.append(c.dose_date[idx] + offset * DAY)
    dropped = c.randomized & (c.status != "COMPLETED")
    et = np.nonzero(dropped & (rng.random(c.n) < options.early_termination_visit))[0]
    last_day = np.asarray([windows[v][0] for v in FOLLOW_UP] + [0])[c.last_visit[et]]
    ps.append(et)
    vs.append(np.full(et.size, "ET"))
    ds.append(c.dose_date[et] + (last_day + rng.integers(10, 60, et.size)) * DAY)
    uns = np.nonzero(c.randomized & (rng.random(c.n) < options.unscheduled_visit))[0]
    ps.append(uns)
    vs.append(np.full(uns.size, "UNS"))
    ds.append(c.dose_date[uns] + rng.integers(2, 60, uns.size) * DAY)
    p = np.concatenate(ps)
    return Instances(p, np.concatenate(vs), np.concatenate(ds), rng.standard_normal(p.size))


# -------------------------------------------------------------------------------------- helpers
def _keys(c: Cohort, inst: Instances, seq: np.ndarray | None = None) -> Columns:
    return {
        "participant_id": c.pid[inst.p],
        "visit": inst.visit,
        "seq": np.ones(len(inst), dtype=np.int64) if seq is None else seq,
    }


def _ppd(c: Cohort, inst: Instances) -> np.ndarray:
    return ((inst.date - c.delivery_date[inst.p]) / DAY).astype(float)


def _at(date: np.ndarray, rng: np.random.Generator, hour: int, spread_min: int) -> np.ndarray:
    return date + np.timedelta64(hour * 60, "m") + rng.integers(0, spread_min, date.size) * MINUTE


def _choice(rng: np.random.Generator, codes: list[str], p: list[float], n: int) -> np.ndarray:
    return np.asarray(codes)[rng.choice(len(codes), size=n, p=np.asarray(p) / np.sum(p))]


def _where(mask: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Values where ``mask``, else missing (NaN / None)."""
    if values.dtype.kind in "fiu":
        return np.where(mask, values.astype(float), np.nan)
    if values.dtype.kind == "M":
        return np.where(mask, values, np.datetime64("NaT"))
    out = values.astype(object)
    out[~mask] = None
    return out


def _subject_effect(c: Cohort, ctx: dict, salt: int, sd: float) -> np.ndarray:
    """A per-participant random effect, the same at every visit (one stream per ``salt``)."""
    key = (int(ctx["chunk_index"]), 1000 + salt)
    g = np.random.Generator(np.random.PCG64(np.random.SeedSequence(ctx["seed"], spawn_key=key)))
    return g.normal(0.0, sd, c.n)


# ---------------------------------------------------------------------------------------- forms
def consent(c: Cohort, inst: Instances, rng: np.random.Generator, ctx: dict) -> Columns:
    p = inst.p
    versions = ctx["consent_version_on"]
    dates = c.screen_date[p]
    return {
        **_keys(c, inst),
        "consent_datetime": c.consent_at[p],
        "consent_version": np.asarray([versions(d) for d in dates.astype("datetime64[D]")]),
        "participant_signed": c.signed[p],
        "witness_present": rng.random(p.size) < 0.1,
        "copy_given": c.signed[p],
        "obtained_by": _choice(
            rng, ["dr. Rina Hartati", "dr. Dewi Lestari", "dr. Asep S."], [0.5, 0.3, 0.2], p.size
        ),  # fmt: skip
    }


def screening(c: Cohort, inst: Instances, rng: np.random.Generator, ctx: dict) -> Columns:
    p = inst.p
    n = p.size
    ex = {k: v[p] for k, v in c.exclusions.items()}
    dob = c.screen_date[p] - np.round(c.age[p] * 365.25).astype(np.int64) * DAY
    infection = ex["active_infection"]
    temp = np.where(infection, rng.normal(38.3, 0.5, n), rng.normal(36.8, 0.3, n))
    cvd = _choice(rng, ["Peripartum cardiomyopathy", "Rheumatic heart disease", "Prior stroke"],
                  [0.5, 0.3, 0.2], n)  # fmt: skip
    endo = _choice(rng, ["Systemic lupus erythematosus", "Antiphospholipid syndrome", "Vasculitis"],
                   [0.4, 0.4, 0.2], n)  # fmt: skip
    return {
        **_keys(c, inst),
        "visit_date": c.screen_date[p],
        "date_of_birth": dob,
        "sex": np.full(n, "F"),
        "pe_diagnosis_confirmed": c.pe_confirmed[p],
        **ex,
        "major_cvd_specify": _where(ex["major_cvd"], cvd),
        "temperature": temp,
        "endothelial_injury_specify": _where(ex["endothelial_injury_history"], endo),
        "able_to_consent": c.able_to_consent[p],
        "breastfeeding": rng.random(n) < 0.85,
        "investigator_signoff": c.eligible[p],
    }


def demog(c: Cohort, inst: Instances, rng: np.random.Generator, ctx: dict) -> Columns:
    p = inst.p
    n = p.size
    severe, cs, fr = c.severe[p], c.cs[p], c.frailty[p]
    height = rng.normal(154.0, 5.8, n)
    bmi_pre = np.clip(rng.normal(24.5, 4.5, n), 16.5, 44.0)
    pre_w = bmi_pre * (height / 100) ** 2
    weight = np.clip(pre_w + rng.normal(4.0, 2.5, n), 36, 149)
    gravida = 1 + rng.poisson(1.1, n)
    abortus = rng.binomial(gravida - 1, 0.12)
    para = gravida - abortus
    ga = np.clip(rng.normal(36.2 - 1.8 * severe, 2.3, n), 26.0, 41.9)
    ga_w = np.floor(ga)
    delivery_mode = np.where(
        cs,
        _choice(rng, ["CS_EMERGENCY", "CS_ELECTIVE"], [0.65, 0.35], n),
        _choice(rng, ["VAGINAL_SPONT", "VAGINAL_ASSISTED"], [0.85, 0.15], n),
    )
    blood_loss = np.where(
        cs, rng.lognormal(np.log(750), 0.35, n), rng.lognormal(np.log(300), 0.5, n)
    )
    blood_loss = np.clip(np.round(blood_loss), 50, 5000)
    postpartum_onset = rng.random(n) < 0.08
    ga_diag = ga - rng.uniform(0, np.minimum(ga - 20.0, 6.0))
    diag_date = np.where(
        postpartum_onset,
        c.delivery_date[p] + rng.integers(0, 4, n) * DAY,
        c.delivery_date[p] - np.round((ga - ga_diag) * 7).astype(np.int64) * DAY,
    )
    # Highest BP: severe-range (>= 160/110) exactly when the participant's PE was severe by BP.
    sf_bp = severe & (rng.random(n) < 0.7)
    sbp = np.where(
        sf_bp, rng.uniform(160, 200, n), np.clip(rng.normal(148 + 5 * fr, 6, n), 130, 159)
    )
    dbp = np.clip(0.5 * sbp + 22 + rng.normal(0, 5, n), 60, sbp - 25)
    dbp = np.where(sf_bp, dbp, np.minimum(dbp, 109))
    others = {
        "sf_thrombocytopenia": 0.18,
        "sf_liver": 0.22,
        "sf_renal": 0.12,
        "sf_pulmonary_edema": 0.04,
        "sf_cerebral_visual": 0.35,
    }
    sf = {k: severe & (rng.random(n) < q) for k, q in others.items()}
    none_other = ~np.any(np.stack(list(sf.values())), axis=0) if n else np.zeros(0, bool)
    sf["sf_cerebral_visual"] |= severe & ~sf_bp & none_other  # severe ⇒ at least one feature
    method = _choice(rng, ["SPOT_MIDSTREAM", "CATHETER", "URINE_24H"], [0.7, 0.15, 0.15], n)
    upcr = np.clip(rng.lognormal(np.log(0.8) + 0.5 * severe + 0.2 * fr, 0.6, n), 0.05, 20)
    dip = _dipstick(upcr * 100 * rng.lognormal(0, 0.3, n))
    return {
        **_keys(c, inst),
        "ethnicity": _choice(
            rng,
            ["SUNDA", "JAWA", "BETAWI", "BATAK", "MINANG", "OTHER"],
            [0.72, 0.14, 0.04, 0.03, 0.03, 0.04],
            n,
        ),  # fmt: skip
        "height": height,
        "weight": weight,
        "prepregnancy_weight": pre_w,
        "gravida": gravida,
        "para": para,
        "abortus": abortus,
        "prior_preeclampsia": (para > 1) & (rng.random(n) < 0.15),
        "delivery_date": c.delivery_date[p],
        "delivery_mode": delivery_mode,
        "ga_weeks": ga_w,
        "ga_days": np.minimum(np.floor((ga - ga_w) * 7), 6),
        "blood_loss": blood_loss,
        "transfusion": np.where(blood_loss >= 1000, rng.random(n) < 0.5, rng.random(n) < 0.02),
        "birth_weight": np.clip(3300 - 210 * (39 - ga) + rng.normal(0, 350, n), 450, 4800),
        "fetal_outcome": np.where(
            rng.random(n) < 0.02 + 0.04 * (ga < 32), "STILLBIRTH", "LIVE_BIRTH"
        ),
        "pe_diagnosis_date": diag_date,
        "pe_ga_weeks": _where(~postpartum_onset, np.floor(ga_diag)),
        "pe_criteria": _choice(
            rng, ["ACOG2020", "ACOG2013", "ISSHP2021", "LOCAL"], [0.5, 0.3, 0.1, 0.1], n
        ),  # fmt: skip
        "highest_sbp": sbp,
        "highest_dbp": dbp,
        "proteinuria_method": method,
        "proteinuria_dipstick": dip,
        "proteinuria_upcr": _where(method != "URINE_24H", upcr),
        "proteinuria_24h": _where(method == "URINE_24H", upcr * 1000 * rng.lognormal(0, 0.2, n)),
        "sf_severe_bp": sf_bp,
        **sf,
        "eclampsia": severe & (rng.random(n) < 0.06),
        "hellp": sf["sf_thrombocytopenia"] & (rng.random(n) < 0.5),
        "magnesium_sulfate": np.where(severe, rng.random(n) < 0.9, rng.random(n) < 0.2),
    }


def _dipstick(mg_dl: np.ndarray) -> np.ndarray:
    cuts = np.array([10, 25, 75, 200, 600])
    return np.asarray(["NEG", "TRACE", "1+", "2+", "3+", "4+"])[np.searchsorted(cuts, mg_dl)]


def _bp(c: Cohort, inst: Instances, rng: np.random.Generator, ctx: dict) -> tuple:
    """Systolic and diastolic BP at each instance (postpartum peak, then decline)."""
    p = inst.p
    ppd = _ppd(c, inst)
    u = _subject_effect(c, ctx, 1, 8.0)[p]
    effect = np.where(c.treated[p] & (ppd > 10) & (ppd < 60), -3.0, 0.0)
    sbp = 117 + 22 * np.exp(-np.maximum(ppd - 5, 0) / 25) + 4 * c.frailty[p] + u + 5 * inst.latent
    sbp += effect + rng.normal(0, 4, p.size)
    dbp = 0.5 * sbp + 19 + rng.normal(0, 4, p.size)
    return np.clip(sbp, 88, 215), np.clip(dbp, 48, sbp - 18)


def vitals(c: Cohort, inst: Instances, rng: np.random.Generator, ctx: dict) -> Columns:
    # Day 0 has the pre-dose reading and the post-dose schedule of the route.
    d0 = inst.visit == "D0"
    iv_points = ["PRE_DOSE", "POST_15MIN", "END_INFUSION", "POST_1H", "POST_2H", "POST_6H"]
    im_points = ["PRE_DOSE", "POST_15MIN", "POST_1H"]
    parts, points, offsets = [], [], []
    other = np.nonzero(~d0)[0]
    parts.append(other)
    points.append(np.full(other.size, "VISIT"))
    offsets.append(np.full(other.size, -1))
    for route_iv, names in ((True, iv_points), (False, im_points)):
        sel = np.nonzero(d0 & (c.iv[inst.p] == route_iv) & c.dosed[inst.p])[0]
        for j, name in enumerate(names):
            parts.append(sel)
            points.append(np.full(sel.size, name))
            offsets.append(np.full(sel.size, j))
    not_dosed = np.nonzero(d0 & ~c.dosed[inst.p])[0]
    parts.append(not_dosed)
    points.append(np.full(not_dosed.size, "PRE_DOSE"))
    offsets.append(np.full(not_dosed.size, 0))
    order = np.concatenate(parts)
    rows = inst.take(order)
    tp = np.concatenate(points)
    step = np.concatenate(offsets)
    p = rows.p
    n = p.size
    start, dur = c.dose_start[p], c.dose_minutes[p] * MINUTE
    at = {
        "PRE_DOSE": start - rng.integers(5, 30, n) * MINUTE,
        "POST_15MIN": start + 15 * MINUTE,
        "END_INFUSION": start + dur,
        "POST_1H": start + dur + 60 * MINUTE,
        "POST_2H": start + dur + 120 * MINUTE,
        "POST_6H": start + dur + 360 * MINUTE,
    }
    measured = _at(rows.date, rng, 8, 180)
    for name, when in at.items():
        measured = np.where(tp == name, when, measured)
    sbp, dbp = _bp(c, rows, rng, ctx)
    fever = ctx["fever"][p] & np.isin(tp, ["POST_2H", "POST_6H"])
    temp = np.where(fever, rng.uniform(38.0, 39.3, n), rng.normal(36.8, 0.3, n))
    seq = np.where(step < 0, 1, step + 1)
    return {
        **_keys(c, rows, seq),
        "timepoint": tp,
        "measured_at": measured,
        "arm_side": _choice(rng, ["RIGHT", "LEFT"], [0.8, 0.2], n),
        "sbp": sbp,
        "dbp": dbp,
        "hr": np.clip(rng.normal(80 + 3 * c.frailty[p] + 8 * fever, 9, n), 48, 140),
        "rr": np.clip(rng.normal(18, 2, n), 11, 29),
        "temperature": temp,
        "spo2": np.clip(np.round(rng.normal(98, 1.2, n)), 92, 100),
    }


def hematology(c: Cohort, inst: Instances, rng: np.random.Generator, ctx: dict) -> Columns:
    p = inst.p
    n = p.size
    ppd = _ppd(c, inst)
    hb = 12.4 - 1.3 * np.exp(-ppd / 40) - 0.3 * c.frailty[p] + _subject_effect(c, ctx, 2, 0.8)[p]
    hb = np.clip(hb + rng.normal(0, 0.35, n), 6.5, 16.0)
    plt_mean = 270 + 260 * np.exp(-(((ppd - 10) / 9) ** 2))  # rebound thrombocytosis after PE
    return {
        **_keys(c, inst),
        "specimen_at": _at(inst.date, rng, 8, 180),
        "lab_name": np.full(n, "Laboratorium Patologi Klinik"),
        "hgb": hb,
        "hct": np.clip(hb * 3.0 + rng.normal(0, 0.9, n), 20, 50),
        "mcv": np.clip(rng.normal(86, 5, n), 65, 110),
        "mchc": np.clip(rng.normal(33.0, 0.9, n), 29, 36.5),
        "wbc": np.clip(rng.lognormal(np.log(7 + 4 * np.exp(-ppd / 10)), 0.22, n), 2.5, 25),
        "plt": np.clip(rng.normal(plt_mean, 85, n), 90, 1100),
    }


def edema(c: Cohort, inst: Instances, rng: np.random.Generator, ctx: dict) -> Columns:
    p = inst.p
    n = p.size
    ppd = _ppd(c, inst)
    e = 1.4 * np.exp(-ppd / 14) + 0.45 * c.frailty[p] + rng.normal(0, 0.4, n)
    grades = ["0", "1+", "2+", "3+", "4+"]

    def grade(shift: float) -> np.ndarray:
        g = np.clip(np.floor(1.6 * (e - shift) + rng.normal(0, 0.35, n)), 0, 4).astype(int)
        return g

    lr, ll, ur, ul = grade(0.2), grade(0.2), grade(0.9), grade(0.9)
    depth = np.array([0.0, 2.0, 3.5, 5.5, 8.0])

    def pit(g: np.ndarray) -> np.ndarray:
        return _where(g > 0, np.clip(depth[g] + rng.normal(0, 0.4, n), 0.5, 12))

    facial_level = np.clip(np.floor(e - 0.6 + rng.normal(0, 0.4, n)), 0, 3).astype(int)
    sacral = (np.maximum(lr, ll) >= 3) & (rng.random(n) < 0.3)
    other = _where(sacral, np.full(n, "SACRAL"))
    return {
        **_keys(c, inst),
        "assessed_at": _at(inst.date, rng, 9, 180),
        "assessor": np.full(n, "Study midwife"),
        "upper_right": np.asarray(grades)[ur],
        "upper_left": np.asarray(grades)[ul],
        "rings_tight": (np.maximum(ur, ul) > 0) & (rng.random(n) < 0.6),
        "lower_right": np.asarray(grades)[lr],
        "lower_left": np.asarray(grades)[ll],
        "lower_pit_depth_right": pit(lr),
        "lower_pit_depth_left": pit(ll),
        "facial": np.asarray(["NONE", "MILD", "MODERATE", "MARKED"])[facial_level],
        "other_sites": other,
        "leg_tender_unilateral": rng.random(n) < 0.003,
    }


def urine(c: Cohort, inst: Instances, rng: np.random.Generator, ctx: dict) -> Columns:
    p = inst.p
    n = p.size
    ppd = _ppd(c, inst)
    log_upcr = np.log(0.12) + 1.4 * np.exp(-ppd / 20) + 0.3 * c.frailty[p] + 0.35 * inst.latent
    upcr = np.clip(np.exp(log_upcr + rng.normal(0, 0.45, n)), 0.02, 15)
    creat = np.clip(rng.lognormal(np.log(90), 0.45, n), 15, 400)
    protein = upcr * creat * rng.lognormal(0, 0.04, n)
    lochia = (ppd < 21) & (rng.random(n) < 0.2)
    dip = _dipstick(protein * rng.lognormal(0, 0.25, n) * np.where(lochia, 3.0, 1.0))
    return {
        **_keys(c, inst),
        "collected_at": _at(inst.date, rng, 7, 180),
        "method": _choice(rng, ["SPOT_MIDSTREAM", "CATHETER", "URINE_24H"], [0.88, 0.1, 0.02], n),
        "lochia_contamination": lochia,
        "dipstick": dip,
        "specific_gravity": np.clip(rng.normal(1.016, 0.006, n), 1.002, 1.035),
        "ph": np.clip(rng.normal(6.0, 0.7, n), 4.6, 8.5),
        "upcr": upcr,
        "urine_protein": np.clip(protein, 0, 4900),
        "urine_creatinine": creat,
    }


def imaging(c: Cohort, inst: Instances, rng: np.random.Generator, ctx: dict) -> Columns:
    p = inst.p
    n = p.size
    ppd = _ppd(c, inst)
    pi_mean = 1.25 + 0.5 * (1 - np.exp(-ppd / 40)) + 0.12 * c.frailty[p]
    pi_mean = pi_mean + _subject_effect(c, ctx, 3, 0.2)[p]
    ri_mean = 0.62 + 0.12 * (1 - np.exp(-ppd / 30)) + rng.normal(0, 0.04, n)
    side = {}
    for s in ("right", "left"):
        ri = np.clip(ri_mean + rng.normal(0, 0.04, n), 0.35, 0.95)
        pi = np.clip(pi_mean + rng.normal(0, 0.12, n), 0.4, 3.8)
        side[f"pi_{s}"] = np.maximum(pi, ri + 0.05)  # PI >= RI for the same waveform
        side[f"ri_{s}"] = ri
        side[f"notch_{s}"] = rng.random(n) < 0.2 + 0.7 * (1 - np.exp(-ppd / 25))
    u = rng.random(n)
    method = np.where(
        ppd < 12,
        np.where(u < 0.6, "FB_UMBILICUS", np.where(u < 0.9, "CM_SYMPHYSIS", "NOT_PALPABLE")),
        np.where((ppd < 20) & (u < 0.3), "CM_SYMPHYSIS", "NOT_PALPABLE"),
    )
    fb = np.clip(np.round(-ppd / 2.2 + rng.normal(0, 1, n)), -10, 2)
    cm = np.clip(12 - 0.6 * ppd + rng.normal(0, 2, n), 0, 20)
    size = np.where(c.cs[p], 1.08, 1.0) * rng.lognormal(0, 0.07, n)
    lochia = np.where(
        ppd < 10, "RUBRA", np.where(ppd < 21, "SEROSA", np.where(ppd < 45, "ALBA", "NONE"))
    )
    return {
        **_keys(c, inst),
        "performed_at": _at(inst.date, rng, 10, 180),
        "approach": _choice(rng, ["TRANSABDOMINAL", "TRANSVAGINAL"], [0.9, 0.1], n),
        "sonographer": np.full(n, "dr. Sp.OG"),
        **side,
        "fundal_method": method,
        "fundal_height_fb": _where(method == "FB_UMBILICUS", fb),
        "fundal_height_cm": _where(method == "CM_SYMPHYSIS", cm),
        "lochia": lochia,
        "uterus_length": (72 + 80 * np.exp(-ppd / 15)) * size,
        "uterus_ap": (40 + 55 * np.exp(-ppd / 14)) * size,
        "uterus_transverse": (52 + 55 * np.exp(-ppd / 15)) * size,
        "endometrial_thickness": np.clip(
            3 + 10 * np.exp(-ppd / 10) + rng.normal(0, 1.5, n), 0.5, 40
        ),
    }


def mirna(c: Cohort, inst: Instances, rng: np.random.Generator, ctx: dict) -> Columns:
    """Ct values that carry the chosen treatment effect on miR-126-3p.

    ΔCt₀ (pre-dose) varies between participants; the log2 fold change at a visit is the arm's
    mean change (the effect, fading after day 7) plus regression on ΔCt₀ plus noise, with
    within-arm SD ``mir126_sd``. Ct(miR-126) = Ct(cel-miR-39) + ΔCt, so ΔΔCt computed by the
    system from the entered Ct values reproduces −log2 fold change exactly.
    """
    p = inst.p
    n = p.size
    opts: SynthOptions = ctx["options"]
    dct0 = 8.0 + 0.4 * c.frailty + _subject_effect(c, ctx, 4, 1.1)
    beta = min(0.3, 0.9 * opts.mir126_sd / 1.2)
    resid_sd = np.sqrt(max(opts.mir126_sd**2 - (beta * 1.2) ** 2, 1e-6))
    fade = {"D0": 0.0, "D7": 1.0, "M1": 0.6, "M3": 0.3}
    mean = np.asarray([fade.get(v, 0.1) for v in inst.visit]) * opts.mir126_log2fc
    log2fc = np.where(c.treated[p], mean, 0.0) + beta * (dct0[p] - 8.0 - 0.4 * c.frailty[p])
    log2fc += rng.normal(0, resid_sd, n)
    baseline = inst.visit == "D0"
    log2fc[baseline] = 0.0
    cel39 = rng.normal(21.5, 0.5, n)
    hemolysed = rng.random(n) < 0.03
    ct23a = rng.normal(25.0, 0.9, n)
    tube = _choice(rng, ["EDTA", "CITRATE", "HEPARIN"], [0.97, 0.02, 0.01], n)
    a414 = np.clip(rng.lognormal(np.log(0.08), 0.5, n) + 0.4 * hemolysed, 0.005, 2.5)
    return {
        **_keys(c, inst),
        "sample_id": np.char.add(np.char.add(c.pid[p].astype(str), "-"), inst.visit.astype(str)),
        "drawn_at": _at(inst.date, rng, 8, 120),
        "tube_type": tube,
        "heparinase_treated": _where(tube == "HEPARIN", np.ones(n, dtype=bool)),
        "draw_to_spin": np.clip(rng.lognormal(np.log(35), 0.5, n), 5, 600),
        "hemolysis_visual": np.where(a414 > 0.3, "MARKED", np.where(a414 > 0.15, "SLIGHT", "NONE")),
        "a414": a414,
        "plasma_volume": np.full(n, 200.0),
        "chemistry": np.full(n, "TAQMAN"),
        "run_id": np.char.add("RUN-", inst.date.astype("datetime64[D]").astype(str)),
        "plate_id": np.char.add("PL-", (c.index[p] // 40).astype(str)),
        "pcr_efficiency": np.clip(rng.normal(97, 4, n), 82, 112),
        "ct_mir126": cel39 + dct0[p] - log2fc,
        "ct_mir126_sd": np.abs(rng.normal(0.12, 0.08, n)),
        "ct_cel39": cel39,
        "ct_mir16": cel39 - 4.0 + rng.normal(0, 0.8, n),
        "ct_mir23a": ct23a,
        "ct_mir451a": ct23a - (rng.normal(4.0, 1.2, n) + 3.5 * hemolysed),
        "calibrator": np.full(n, "SUBJECT_BASELINE"),
        "calibrator_dct": dct0[p],
        "_log2fc": log2fc,
    }


def dosing(c: Cohort, inst: Instances, rng: np.random.Generator, ctx: dict) -> Columns:
    rows = inst.take(c.dosed[inst.p])
    p = rows.p
    n = p.size
    iv = c.iv[p]
    prepared = np.where(iv, 100.0, 5.0)
    interrupted = rng.random(n) < 0.03
    given = np.where(interrupted, prepared * rng.uniform(0.3, 0.95, n), prepared)
    return {
        **_keys(c, rows),
        "randomization_number": c.rand_number[p],
        "kit_id": np.char.add("K", np.char.zfill(c.index[p].astype(str), 6)),
        "route": np.where(iv, "IV", "IM"),
        "im_site": _where(
            ~iv, _choice(rng, ["DELTOID", "VASTUS_LATERALIS", "GLUTEAL"], [0.6, 0.3, 0.1], n)
        ),  # fmt: skip
        "im_side": _where(~iv, _choice(rng, ["RIGHT", "LEFT"], [0.5, 0.5], n)),
        "prepared_volume": prepared,
        "administered_volume": np.floor(given * 10) / 10,
        "start_at": c.dose_start[p],
        "stop_at": c.dose_start[p] + c.dose_minutes[p] * MINUTE,
        "interrupted": interrupted,
        "interruption_reason": _where(
            interrupted,
            _choice(
                rng,
                ["Infusion reaction (flushing)", "Cannula dislodged", "Participant request"],
                [0.4, 0.4, 0.2],
                n,
            ),
        ),  # fmt: skip
        "premedication": rng.random(n) < 0.05,
        "site_check": _choice(
            rng, ["NORMAL", "PHLEBITIS", "EXTRAVASATION", "OTHER"], [0.96, 0.02, 0.01, 0.01], n
        ),  # fmt: skip
    }


BACKGROUND_AES = [
    # term, weight, P(serious), CTCAE grade probabilities G1..G4
    ("Headache", 0.20, 0.0, (0.7, 0.27, 0.03, 0.0)),
    ("Postpartum hypertension", 0.16, 0.08, (0.3, 0.5, 0.19, 0.01)),
    ("Anaemia", 0.12, 0.02, (0.5, 0.4, 0.1, 0.0)),
    ("Mastitis", 0.08, 0.03, (0.5, 0.45, 0.05, 0.0)),
    ("Urinary tract infection", 0.10, 0.02, (0.4, 0.55, 0.05, 0.0)),
    ("Endometritis", 0.04, 0.3, (0.2, 0.5, 0.3, 0.0)),
    ("Wound infection", 0.05, 0.15, (0.3, 0.55, 0.15, 0.0)),
    ("Postpartum depression", 0.06, 0.05, (0.4, 0.5, 0.1, 0.0)),
    ("Back pain", 0.12, 0.0, (0.8, 0.2, 0.0, 0.0)),
    ("Infusion site pain", 0.07, 0.0, (0.9, 0.1, 0.0, 0.0)),
]
RELATED_SAES = ["Deep vein thrombosis", "Infusion-related reaction", "Anaphylaxis"]
#: The CTCAE v5.0 term a site would code each synthetic verbatim term to (None: a term outside
#: the study's CTCAE list, left uncoded for the central coder).
CTCAE_TERM = {
    "Headache": "Headache",
    "Postpartum hypertension": "Hypertension",
    "Anaemia": "Anemia",
    "Pyrexia": "Fever",
    "Deep vein thrombosis": "Thromboembolic event",
    "Infusion-related reaction": "Infusion related reaction",
    "Anaphylaxis": "Anaphylaxis",
}


def adverse_events(c: Cohort, rng: np.random.Generator, ctx: dict) -> Columns:
    """The AE log: background postpartum events, transient fever, related SAEs (by arm)."""
    opts: SynthOptions = ctx["options"]
    dosed = np.nonzero(c.dosed)[0]
    treated = c.treated[dosed].astype(int)
    span = np.asarray([7, 30, 91, 182, 365, 730])[np.maximum(c.last_visit[dosed], 0)] + 7
    # Background events.
    counts = rng.poisson(opts.background_ae_per_participant, dosed.size)
    who = np.repeat(dosed, counts)
    kind = rng.choice(len(BACKGROUND_AES), size=who.size, p=_weights())
    onset_h = rng.uniform(6, 24 * np.repeat(span, counts))
    serious = rng.random(who.size) < np.asarray([a[2] for a in BACKGROUND_AES])[kind]
    grade = np.asarray([rng.choice(4, p=BACKGROUND_AES[k][3]) for k in kind], dtype=int)
    terms = np.asarray([a[0] for a in BACKGROUND_AES])[kind]
    related = _choice(rng, ["UNRELATED", "UNLIKELY", "POSSIBLE"], [0.7, 0.25, 0.05], who.size)
    aesi = _where(
        (terms == "Postpartum hypertension") & (grade >= 2), np.full(who.size, "SEVERE_BP")
    )
    # Fever within 72 h (the MSC-associated event) and related SAEs, by arm.
    fever = dosed[rng.random(dosed.size) < np.asarray(opts.fever_rate)[treated]]
    ctx["fever"][fever] = True
    sae = dosed[rng.random(dosed.size) < np.asarray(opts.related_sae_rate)[treated]]
    parts = [
        (who, terms, onset_h, serious, grade, related, aesi),
        (fever, np.full(fever.size, "Pyrexia"), rng.uniform(2, 48, fever.size),
         np.zeros(fever.size, bool), rng.choice(2, fever.size, p=[0.8, 0.2]),
         _choice(rng, ["POSSIBLE", "PROBABLE"], [0.6, 0.4], fever.size),
         np.full(fever.size, "FEVER_72H", dtype=object)),
        (sae, _choice(rng, RELATED_SAES, [0.5, 0.4, 0.1], sae.size),
         rng.uniform(1, 24 * 14, sae.size), np.ones(sae.size, bool),
         rng.choice([2, 3], sae.size, p=[0.85, 0.15]),
         _choice(rng, ["POSSIBLE", "PROBABLE", "DEFINITE"], [0.6, 0.3, 0.1], sae.size), None),
    ]  # fmt: skip
    cols = [np.concatenate([np.asarray(part[i], dtype=object) for part in parts]) for i in range(6)]
    who_all, term, onset_h, serious, grade, related = cols
    who_all = who_all.astype(np.int64)
    aesi_all = np.concatenate(
        [np.asarray(parts[0][6], dtype=object), parts[1][6], _sae_aesi(parts[2][1])]
    )
    order = np.lexsort((onset_h.astype(float), who_all))
    who_all, term, serious, grade, related, aesi_all = (
        x[order] for x in (who_all, term, serious, grade, related, aesi_all)
    )
    onset = (
        c.dose_start[who_all]
        + np.round(onset_h[order].astype(float) * 60).astype(np.int64) * MINUTE
    )
    n = who_all.size
    serious = serious.astype(bool)
    grade = grade.astype(int)
    ongoing = rng.random(n) < 0.08
    duration_h = np.where(
        term == "Pyrexia", rng.uniform(4, 30, n), rng.lognormal(np.log(96), 1.0, n)
    )
    seq = _seq(who_all)
    return {
        "participant_id": c.pid[who_all],
        "visit": np.full(n, None, dtype=object),
        "seq": seq,
        "term": term.astype(str),
        "meddra_pt": term.astype(str),
        "ctcae_term": np.asarray([CTCAE_TERM.get(t) for t in term.astype(str)], dtype=object),
        "onset_at": onset,
        "ongoing": ongoing,
        "end_at": _where(~ongoing, onset + np.round(duration_h * 60).astype(np.int64) * MINUTE),
        "severity": np.asarray(["G1", "G2", "G3", "G4"])[grade],
        "serious": serious,
        "seriousness": _where(serious, np.where(grade >= 3, "LIFE_THREATENING", "HOSPITALISATION")),
        "relatedness": related.astype(str),
        "procedure_related": _choice(rng, ["UNRELATED", "UNLIKELY"], [0.9, 0.1], n),
        "expected": term == "Pyrexia",
        "action_taken": np.where(
            term == "Infusion-related reaction", "INTERRUPTED", "NOT_APPLICABLE"
        ),
        "outcome": np.where(
            ongoing, "NOT_RECOVERED", _choice(rng, ["RECOVERED", "RECOVERING"], [0.9, 0.1], n)
        ),  # fmt: skip
        "aesi": aesi_all,
        "aware_at": _where(serious, onset + rng.integers(30, 20 * 60, n) * MINUTE),
    }


def _weights() -> np.ndarray:
    w = np.asarray([a[1] for a in BACKGROUND_AES])
    return w / w.sum()


def _sae_aesi(terms: np.ndarray) -> np.ndarray:
    table = {"Deep vein thrombosis": "THROMBOSIS", "Infusion-related reaction": "INFUSION_REACTION",
             "Anaphylaxis": "ANAPHYLAXIS"}  # fmt: skip
    return np.asarray([table[t] for t in terms], dtype=object)


def _seq(who: np.ndarray) -> np.ndarray:
    """1, 2, … within each participant (``who`` sorted)."""
    if who.size == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.r_[0, np.nonzero(np.diff(who))[0] + 1]
    seq = np.arange(who.size) - np.repeat(starts, np.diff(np.r_[starts, who.size]))
    return seq + 1


CONMEDS = [
    # drug, indication, dose, unit, route, P(taking), antihypertensive, starts in pregnancy
    ("Nifedipine", "Hypertension", 30.0, "mg", "PO", 0.55, True, True),
    ("Methyldopa", "Hypertension", 250.0, "mg", "PO", 0.25, True, True),
    ("Ferrous sulfate", "Anaemia prophylaxis", 300.0, "mg", "PO", 0.6, False, False),
    ("Paracetamol", "Pain", 500.0, "mg", "PO", 0.4, False, False),
    ("Cefadroxil", "Post-caesarean prophylaxis", 500.0, "mg", "PO", 0.2, False, False),
]


def conmeds(c: Cohort, rng: np.random.Generator, ctx: dict) -> Columns:
    idx = np.nonzero(c.randomized)[0]
    rows = []
    for j, (_drug, _ind, _dose, _unit, _route, prob, _ah, pregnancy) in enumerate(CONMEDS):
        take = idx[rng.random(idx.size) < prob]
        start = np.where(
            pregnancy,
            c.delivery_date[take] - rng.integers(0, 35, take.size) * DAY,
            c.delivery_date[take] + rng.integers(0, 10, take.size) * DAY,
        )
        rows.append((take, np.full(take.size, j), start))
    who = np.concatenate([r[0] for r in rows]).astype(np.int64)
    med = np.concatenate([r[1] for r in rows]).astype(int)
    start = np.concatenate([r[2] for r in rows]).astype("datetime64[D]")
    order = np.lexsort((med, who))
    who, med, start = who[order], med[order], start[order]
    n = who.size
    ongoing = rng.random(n) < 0.25
    table = np.asarray(CONMEDS, dtype=object)
    return {
        "participant_id": c.pid[who],
        "visit": np.full(n, None, dtype=object),
        "seq": _seq(who),
        "drug": table[med, 0].astype(str),
        "indication": table[med, 1].astype(str),
        "dose": table[med, 2].astype(float),
        "dose_unit": table[med, 3].astype(str),
        "route": table[med, 4].astype(str),
        "start_date": start,
        "ongoing": ongoing,
        "stop_date": _where(~ongoing, start + rng.integers(7, 150, n) * DAY),
        "antihypertensive": table[med, 6].astype(bool),
    }


def disposition(c: Cohort, inst: Instances, rng: np.random.Generator, ctx: dict) -> Columns:
    """One record per randomized participant, at M24 (completed) or ET (everyone else)."""
    idx = np.nonzero(c.randomized)[0]
    n = idx.size
    last = c.last_visit[idx]
    days = np.asarray([7, 30, 91, 182, 365, 730, 0])[last]  # index -1 → 0 (day 0)
    completed = c.status[idx] == "COMPLETED"
    status = c.status[idx]
    last_contact = c.dose_date[idx] + (days + rng.integers(0, 30, n) * ~completed) * DAY
    lost = status == "LOST_TO_FOLLOW_UP"
    unblind = rng.random(n) < 0.005
    return {
        "participant_id": c.pid[idx],
        "visit": np.where(completed, "M24", "ET"),
        "seq": np.ones(n, dtype=np.int64),
        "randomized": np.ones(n, dtype=bool),
        "dosed": c.dosed[idx],
        "primary_visit_completed": last >= 0,
        "status": status,
        "last_contact_date": last_contact,
        "withdrawal_scope": _where(status == "WITHDREW_CONSENT", _choice(
            rng, ["NO_PROCEDURES", "NO_DATA", "DESTROY_SAMPLES"], [0.6, 0.35, 0.05], n)),
        "contact_attempts": _where(lost, rng.integers(3, 7, n)),
        "emergency_unblinding": unblind,
        "unblinding_reason": _where(unblind, np.full(n, "Severe adverse event management")),
        "new_pregnancy": (status == "NEW_PREGNANCY") | (completed & (rng.random(n) < 0.03)),
    }  # fmt: skip


VISIT_FORMS: dict[str, Callable[..., Columns]] = {
    "consent": consent,
    "screening": screening,
    "demog": demog,
    "vitals": vitals,
    "hematology": hematology,
    "edema": edema,
    "urine": urine,
    "imaging": imaging,
    "mirna": mirna,
    "dosing": dosing,
}
