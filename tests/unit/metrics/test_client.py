"""The HTTP client's garbage-collector pause: nested pauses restore the collector exactly once."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from governor.metrics.client import paused_gc


@pytest.fixture
def gc_restored() -> Iterator[None]:
    enabled = gc.isenabled()
    yield
    if enabled:
        gc.enable()
    else:
        gc.disable()


def test_nested_pauses_reenable_after_the_last(gc_restored: None) -> None:
    gc.enable()
    with paused_gc():
        assert not gc.isenabled()
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pause still holds
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off(gc_restored: None) -> None:
    gc.disable()
    with paused_gc():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_concurrent_pauses_from_threads(gc_restored: None) -> None:
    gc.enable()
    inside, release = threading.Barrier(5), threading.Event()

    def worker() -> None:
        with paused_gc():
            inside.wait(10)
            release.wait(10)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    inside.wait(10)  # all four hold a pause at once
    assert not gc.isenabled()
    release.set()
    for thread in threads:
        thread.join(10)
    assert gc.isenabled()


def test_an_exception_inside_still_restores(gc_restored: None) -> None:
    gc.enable()
    with pytest.raises(RuntimeError), paused_gc():
        raise RuntimeError("boom")
    assert gc.isenabled()
