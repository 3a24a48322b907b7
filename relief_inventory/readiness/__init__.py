"""Readiness (战备): could the reserve serve a disaster right now, from where, how fast.

``standards.py``, ``travel.py`` and ``scenario.py`` are pure (no database, no Flask);
``models.py`` holds the tables, ``services.py`` is the only writer, ``queries.py`` reads.
"""
