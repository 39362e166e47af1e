"""Rendered reports (HTML + PNG) built from trialdesk.core results. Not part of core."""
