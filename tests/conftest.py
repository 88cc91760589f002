"""Settings for the whole suite.

Property-based tests draw their examples from a fixed seed (``derandomize``), so two runs
of the suite test the same inputs and give the same result, and keep no example database
in the working tree. Per-test ``@settings`` still set how many examples each test runs.
"""

from __future__ import annotations

try:
    from hypothesis import settings
except ImportError:  # an environment without the test extra (e.g. one made for Hummingbot)
    pass
else:
    settings.register_profile("deterministic", derandomize=True, database=None, deadline=None)
    settings.load_profile("deterministic")
