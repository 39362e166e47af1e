"""The final analysis: database lock and snapshots, analysis datasets, the SAP's analyses, the
report (docs/final-analysis.md)."""
