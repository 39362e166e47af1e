"""Adverse events as the safety physician sees them (issue 12): the AE eCRF log form is the
record; this app keeps each AE's versions, its CTCAE coding and grade, seriousness and
expectedness, the expedited-reporting clocks, the CIOMS-I report and the safety dashboard."""
