"""An eligible participant's screening values for NCT07183384 ("form.field" -> value), for tests."""

ELIGIBLE = {
    "screening.sex": "F",
    "screening.age": 29,
    "screening.postpartum_day": 9,
    "screening.pe_diagnosis_confirmed": True,
    "screening.able_to_consent": True,
    "consent.participant_signed": True,
    "screening.chronic_htn_prepregnancy": False,
    "screening.major_cvd": False,
    "screening.active_infection": False,
    "screening.endothelial_injury_history": False,
    "screening.smoking_active": False,
    "screening.vaping_active": False,
    "screening.alcohol_active": False,
    "screening.drug_addiction": False,
}
