"""trialdesk: run a randomized clinical trial from first contact to the signed final analysis."""

__version__ = "0.1.0"
