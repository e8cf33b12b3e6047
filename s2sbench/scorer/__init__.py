"""Scoring speech language models on spoken-continuation benchmarks.

``adapters/`` knows models (one file per model family, registered by name); ``metric`` holds the
reference metric as pure functions; ``run`` streams items through an adapter into a results
directory (``scores.jsonl``, ``summary.json``, ``summary.md``, ``result_<subset>.jsonl``).
"""
