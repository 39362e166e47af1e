"""The public portal: the trial directory, each study's lay page, the pre-screening
self-check, and private notes on a passage shared by a passcode link (docs/public-portal.md)."""
