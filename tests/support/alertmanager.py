"""A session-wide real Alertmanager (Debian ``prometheus-alertmanager`` 0.25) for alerting tests.

Alertmanager listens on a free loopback port, with clustering off
(``--cluster.listen-address=`` empty: otherwise it binds 0.0.0.0:9094), ``group_wait`` and
``group_interval`` of 1 s, and routes every alert to a local webhook receiver
(``ScriptedReceiver``) with ``send_resolved``. Started once per session (~0.5 s) and
always stopped, even when tests fail.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.processes import free_port, require_binary, running
from tests.support.receivers import ScriptedReceiver, running_receiver

CONFIG = """
route:
  receiver: governor-test
  group_by: [alertname, namespace, service]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: governor-test
    webhook_configs:
      - url: {hook}
        send_resolved: true
"""


@dataclass(frozen=True)
class RunningAlertmanager:
    url: str  # base URL, e.g. http://127.0.0.1:PORT
    hook: ScriptedReceiver  # where Alertmanager sends its webhook notifications


@pytest.fixture(scope="session")
def alertmanager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningAlertmanager]:
    binary = require_binary("prometheus-alertmanager")
    work: Path = tmp_path_factory.mktemp("alertmanager")
    with running_receiver("webhook") as hook:
        config = work / "alertmanager.yml"
        config.write_text(CONFIG.format(hook=hook.url + "alertmanager"))
        port = free_port()
        argv = [
            binary,
            f"--config.file={config}",
            f"--storage.path={work / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ]
        url = f"http://127.0.0.1:{port}"
        with running(argv, ready_url=url + "/-/ready", log_path=work / "alertmanager.log", timeout=30.0):
            yield RunningAlertmanager(url, hook)
