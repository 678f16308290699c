"""Benchmarks: each figure measured side by side with its floor, in the same run.

Run one from the repository root: `python -m benchmarks.plan_program --size full`.
See docs/benchmarks.md.
"""
