"""``governor explain NAMESPACE/NAME``: why an InferenceService is where it is, in one screen.

An SRE paged at night wants the last decision and its reasons, the conditions, the precision and
any swap under way, the active alerts and the recent Events — without assembling them from
``kubectl describe`` and ``-o yaml``. Rendering is pure; fetching goes through the same ``KubeApi``
the operator uses, so it works against a real cluster and the embedded emulator alike.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from governor.kube.client import ApiError, KubeApi, KubernetesApi, api_path
from governor.model.resource import GROUP, PLURAL, VERSION

EVENTS_SHOWN = 10


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("service", help="NAMESPACE/NAME of the InferenceService (NAME alone means namespace default)")
    parser.add_argument("--server", help="API server URL without credentials (e.g. the demo's emulator)")


def main(args: argparse.Namespace) -> int:
    namespace, _, name = str(args.service).rpartition("/")
    namespace = namespace or "default"
    try:
        api = KubernetesApi.for_url(args.server) if args.server else KubernetesApi.from_environment()
    except Exception as exc:
        print(f"governor explain: no Kubernetes credentials: {exc}", file=sys.stderr)
        return 2
    try:
        obj, events = asyncio.run(fetch(api, namespace, name))
    except ApiError as exc:
        print(f"governor explain: {namespace}/{name}: {exc}", file=sys.stderr)
        return 1
    finally:
        api.close()
    print(render(obj, events))
    return 0


async def fetch(api: KubeApi, namespace: str, name: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    obj = await api.get(api_path(f"{GROUP}/{VERSION}", PLURAL, namespace, name))
    events = await api.list(api_path("v1", "events", namespace))
    mine = [e for e in events if (e.get("involvedObject") or {}).get("name") == name]
    return obj, mine


def render(obj: Mapping[str, Any], events: Sequence[Mapping[str, Any]]) -> str:
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    lines = [f"InferenceService {meta.get('namespace')}/{meta.get('name')}"]
    lines += _summary(spec, status)
    lines += _section("Decision", _decision(status))
    lines += _section("Conditions", _conditions(status))
    lines += _section("Swap", _swap(status))
    lines += _section("Alerts", _alerts(status))
    lines += _section("Recent events", _events(events))
    return "\n".join(lines)


def _summary(spec: Mapping[str, Any], status: Mapping[str, Any]) -> list[str]:
    metrics = status.get("metrics") or {}
    slo = spec.get("slo") or {}
    bounds = f"{spec.get('minReplicas', 1)}..{spec.get('maxReplicas')}"
    preferred = (spec.get("precision") or {}).get("preferred", "-")
    return [
        f"  replicas   {status.get('readyReplicas', '?')}/{status.get('replicas', '?')} ready, "
        f"desired {status.get('desiredReplicas', '-')} (bounds {bounds})",
        f"  precision  {status.get('precision', '-')} (preferred {preferred})",
        f"  latency    p99 {_fmt(metrics.get('latencyP99Ms'), 'ms')} vs SLO {slo.get('latencyMs', '-')} ms; "
        f"{_fmt(metrics.get('rps'), 'req/s')}; GPU {_fmt(metrics.get('gpuUtilization'), '')}; "
        f"source {metrics.get('source', 'none')}",
        *_tokens(slo, metrics),
    ]


def _tokens(slo: Mapping[str, Any], metrics: Mapping[str, Any]) -> list[str]:
    """TTFT, ITL (measured vs objective), goodput and token rates, for services that declare or export them."""
    keys = ("ttftMs", "itlMs", "goodput", "promptTokensPerSecond", "generationTokensPerSecond")
    if not any(k in slo for k in ("ttft", "itl")) and not any(k in metrics for k in keys):
        return []

    def objective(name: str) -> str:
        declared = slo.get(name)
        if not isinstance(declared, Mapping):
            return "no objective"
        return f"SLO p{float(declared.get('quantile', 0.9)) * 100:g} {declared.get('ms', '-')} ms"

    return [
        f"  tokens     TTFT {_fmt(metrics.get('ttftMs'), 'ms')} ({objective('ttft')}); "
        f"ITL {_fmt(metrics.get('itlMs'), 'ms')} ({objective('itl')}); goodput {_fmt(metrics.get('goodput'), '')}",
        f"             {_fmt(metrics.get('promptTokensPerSecond'), 'prompt tok/s')}; "
        f"{_fmt(metrics.get('generationTokensPerSecond'), 'generated tok/s')}; "
        f"queue wait {_fmt(metrics.get('queueWaitMs'), 'ms')}; KV cache {_fmt(metrics.get('kvCacheUsage'), '')}",
    ]


def _fmt(value: Any, unit: str) -> str:
    if value is None:
        return "missing"
    return f"{float(value):.3g} {unit}".rstrip()


def _section(title: str, rows: list[str]) -> list[str]:
    return ["", f"{title}:", *(rows or ["  (none)"])]


def _decision(status: Mapping[str, Any]) -> list[str]:
    decision = status.get("decision") or {}
    rows = [f"  - {reason}" for reason in decision.get("reasons") or []]
    return ([f"  at {decision['at']}"] if decision.get("at") else []) + rows


def _conditions(status: Mapping[str, Any]) -> list[str]:
    return [
        f"  {c.get('type', '?'):<18} {c.get('status', '?'):<8} {c.get('reason', '')}: {c.get('message', '')}"
        for c in status.get("conditions") or []
    ]


def _swap(status: Mapping[str, Any]) -> list[str]:
    swap = status.get("swap")
    if not isinstance(swap, Mapping):
        return [f"  last swap {status['lastSwapTime']}"] if status.get("lastSwapTime") else []
    return ["  " + ", ".join(f"{k}={v}" for k, v in swap.items() if not isinstance(v, (dict, list)))]


def _alerts(status: Mapping[str, Any]) -> list[str]:
    rows = []
    for alert in status.get("alerts") or []:
        if isinstance(alert, Mapping):
            name = alert.get("name") or alert.get("alertname") or "?"
            state = alert.get("phase") or alert.get("state") or "?"
            rows.append(f"  {name:<24} {state:<9} {alert.get('severity', '')}")
    return rows


def _events(events: Sequence[Mapping[str, Any]]) -> list[str]:
    def when(e: Mapping[str, Any]) -> str:
        return str(e.get("lastTimestamp") or e.get("eventTime") or e.get("firstTimestamp") or "")

    recent = sorted(events, key=when)[-EVENTS_SHOWN:]
    return [f"  {when(e)} {e.get('type', ''):<8} {e.get('reason', ''):<20} {e.get('message', '')}" for e in recent]
