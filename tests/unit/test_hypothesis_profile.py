"""The hypothesis profile of tests/conftest.py is in force: no property test is a timing
assertion (a per-example deadline or the too_slow health check fails correct tests on a loaded
machine), whatever example count its own ``@settings`` gives."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

from tests.unit.codec import test_fuzz


def test_the_default_and_a_tests_own_settings_have_no_deadline_nor_too_slow_check() -> None:
    for configured in (settings.default, test_fuzz.FUZZ):
        assert configured.deadline is None
        assert HealthCheck.too_slow in configured.suppress_health_check
    assert test_fuzz.FUZZ.max_examples == 400  # its own count is kept
