"""Fixtures of the alerting integration tests: a session-wide real Alertmanager."""

from tests.support.alertmanager import alertmanager

__all__ = ["alertmanager"]
