"""Examples for metarl users (``examples.windy_line`` is a task family in one file).

This file makes ``examples`` a regular package, so ``--env examples.windy_line:WindyLine-v0``
imports this directory even when some installed distribution ships a top-level ``examples``.
"""
