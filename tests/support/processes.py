"""Start and always stop the real programs the tests use (Prometheus, Alertmanager, servers).

One place for free-port picking, readiness polling and teardown, so every fixture that
starts a process stops it, even when a test fails.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

from governor.testing.control_plane import free_port, stop  # one implementation for the tests and the demo

__all__ = ["free_port", "http_get", "require_binary", "running", "stop", "wait_http_ok"]


def require_binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"{name} is not installed; run scripts/setup.sh test (installs Debian's package)")
    return path


def http_get(port: int, path: str) -> tuple[int, str]:
    """``(status, body)`` of a GET on 127.0.0.1:``port``, error statuses included."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read().decode()


def wait_http_ok(url: str, timeout: float = 20.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} was ready")
        try:
            with urllib.request.urlopen(url, timeout=1.0) as resp:
                if resp.status == 200:
                    return
        except urllib.error.HTTPError as exc:  # a 503 holds the open response: close it, or its socket leaks
            last = f"HTTP {exc.code}"
            exc.close()
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            last = repr(exc)
        time.sleep(0.1)
    raise TimeoutError(f"{url} not ready after {timeout}s: {last}")


@contextlib.contextmanager
def running(
    argv: Sequence[str], *, ready_url: str | None = None, log_path: Path | None = None, timeout: float = 20.0
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``argv`` until the block exits; wait for ``ready_url`` to answer 200 first."""
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(list(argv), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        if ready_url:
            wait_http_ok(ready_url, timeout, proc)
        yield proc
    finally:
        stop(proc)
        if log_path:
            log.close()  # type: ignore[union-attr]
