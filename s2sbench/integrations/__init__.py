"""s2sbench inside other toolkits: each module imports its toolkit, and only it does.

``lm_eval``: an lm-evaluation-harness model (``--model s2sbench``) backed by the scorer's adapters.
"""
