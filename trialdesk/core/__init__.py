"""Pure domain code: protocol model, rules, units, statistics, simulation.

Nothing under trialdesk.core imports Django or any web app (tests/test_core_purity.py proves it).
"""
