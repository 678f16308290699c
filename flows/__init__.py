"""Prefect flows for every phase of a cycle, and the `roundtable` command line.

Importing this package does not import Prefect: the CLI's fast commands stay fast.
"""
