"""A rolling batch never takes the whole fleet out, whatever the decision engine asks."""

from __future__ import annotations

import pytest

from governor.actuate.actuator import safe_batch


@pytest.mark.parametrize(
    ("asked", "replicas", "expected"),
    [(None, 8, 1), (1, 8, 1), (4, 8, 4), (8, 8, 7), (20, 8, 7), (3, 2, 1), (None, 1, 1), (5, 1, 1)],
)
def test_batch_is_bounded_to_keep_one_pod_serving(asked: int | None, replicas: int, expected: int) -> None:
    assert safe_batch(asked, replicas) == expected
