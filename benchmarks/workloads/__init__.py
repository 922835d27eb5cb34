"""The workloads: each module maps system names to a function that measures one system.

A measuring function runs inside a fresh child process (see ``benchmarks/child.py``) and returns
a JSON-able dict: ``{"times": [seconds, ...], ...extras}`` for a timed run, or
``{"status": "fails", "error": ...}`` / ``{"status": "skipped", "reason": ...}``.
"""
