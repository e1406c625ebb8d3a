"""``governor demo``: the whole operator on one laptop, against the embedded Kubernetes emulator.

Starts the emulator, applies the CRD and example InferenceServices, runs the real operator
in-process, plays the Deployment controller (pods become ready after a short start-up delay), and
prints the services' status every tick until ``--duration`` seconds or ``--ticks`` ticks have
passed, then stops everything and exits 0. Simulated load comes in a later step (``demo/servers.py``).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import kopf
import yaml

from governor.actuate.kube import KubernetesApi
from governor.controller.app import Controller
from governor.demo.client import KubeClient
from governor.demo.emulator import EmulatorThread
from governor.demo.operator_thread import OperatorThread
from governor.demo.standins import DeploymentStandIn
from governor.demo.table import render
from governor.settings import Settings, SettingsError

REPO = Path(__file__).resolve().parents[3]
DEFAULT_EXAMPLES = (REPO / "examples" / "vllm-chat.yaml",)
CRD = REPO / "crds" / "inferenceservice.yaml"

# Used when the package runs outside a checkout (no examples/ next to it).
EMBEDDED_EXAMPLE: dict[str, Any] = {
    "apiVersion": "governor.dev/v1alpha1",
    "kind": "InferenceService",
    "metadata": {"name": "chat", "namespace": "ml"},
    "spec": {
        "minReplicas": 2,
        "maxReplicas": 8,
        "template": {"spec": {"containers": [{"name": "server", "image": "vllm/vllm-openai:v0.6.3"}]}},
        "slo": {"latencyMs": 300},
        "metrics": {"preset": "vllm"},
    },
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--duration", type=float, default=60.0, help="seconds to run (default 60)")
    parser.add_argument("--ticks", type=int, default=None, help="stop after this many ticks instead")
    parser.add_argument("--tick-seconds", type=float, default=2.0, help="control-loop period (default 2)")
    parser.add_argument("--startup-seconds", type=float, default=3.0, help="simulated pod start-up time (default 3)")
    parser.add_argument(
        "--example",
        action="append",
        type=Path,
        help="InferenceService manifest(s) to apply (default examples/vllm-chat.yaml)",
    )
    parser.add_argument("--verbose", action="store_true", help="show the operator's logs")


def load_manifests(paths: Iterable[Path]) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in paths:
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict))
    return docs


def apply_all(client: KubeClient, docs: Sequence[dict[str, Any]]) -> None:
    # No Namespace objects: the emulator serves any namespace (and KMock cannot POST /api/v1/namespaces).
    for doc in docs:
        client.apply(doc)


def main(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"governor demo: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    if not args.verbose:
        logging.getLogger("kopf").setLevel(logging.ERROR)
    operator_settings = dataclasses.replace(settings.operator, tick_seconds=args.tick_seconds, metrics_port=0)
    examples = args.example or [p for p in DEFAULT_EXAMPLES if p.exists()]
    docs = load_manifests(examples) if examples else [EMBEDDED_EXAMPLE]
    with EmulatorThread() as emulator:
        client = KubeClient(emulator.url)
        if CRD.exists():
            apply_all(client, load_manifests([CRD]))
        api = KubernetesApi.for_url(emulator.url)
        controller = Controller(
            api=api, settings=operator_settings, connection=kopf.ConnectionInfo(server=emulator.url, insecure=True)
        )
        operator = OperatorThread(controller)
        try:
            with DeploymentStandIn(client, delay=args.startup_seconds):
                operator.start()
                apply_all(client, docs)
                print(f"governor demo: emulator at {emulator.url}; {len(docs)} service(s); Ctrl-C to stop early")
                _watch(client, operator, args)
        except KeyboardInterrupt:
            print("interrupted")
        finally:
            operator.stop()
            api.close()
    if operator.error is not None:
        print(f"governor demo: the operator failed: {operator.error!r}", file=sys.stderr)
        return 1
    return 0


def _watch(client: KubeClient, operator: OperatorThread, args: argparse.Namespace) -> None:
    deadline = time.monotonic() + args.duration
    tick = 0
    while operator.alive and (args.ticks is None or tick < args.ticks):
        if args.ticks is None and time.monotonic() >= deadline:
            break
        time.sleep(args.tick_seconds)
        tick += 1
        print(f"\n--- tick {tick} ---")
        print(render(client.list("inferenceservices")), flush=True)
