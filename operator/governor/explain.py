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
from governor.model.status import ServiceStatus

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
    meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    status = ServiceStatus.from_status(obj.get("status"))
    lines = [f"InferenceService {meta.get('namespace')}/{meta.get('name')}"]
    lines += _summary(spec, status)
    lines += _section("Decision", _decision(status))
    lines += _section("Conditions", _conditions(status))
    lines += _section("Swap", _swap(status))
    lines += _section("Alerts", _alerts(status))
    lines += _section("Recent events", _events(events))
    return "\n".join(lines)


def _summary(spec: Mapping[str, Any], status: ServiceStatus) -> list[str]:
    metrics = status.metrics or {}
    slo = spec.get("slo") or {}
    bounds = f"{spec.get('minReplicas', 1)}..{spec.get('maxReplicas')}"
    preferred = (spec.get("precision") or {}).get("preferred", "-")
    workload = status.workload
    return [
        f"  replicas   {_or(workload.ready_replicas, '?')}/{_or(workload.replicas, '?')} ready, "
        f"desired {_or(status.decision.desired_replicas, '-')} (bounds {bounds})",
        f"  precision  {status.actuation.precision or '-'} (preferred {preferred})",
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


def _or(value: object, missing: str) -> str:
    return missing if value is None else str(value)


def _decision(status: ServiceStatus) -> list[str]:
    decision = status.decision
    rows = [f"  - {reason}" for reason in decision.reasons]
    return ([f"  at {decision.at}"] if decision.at else []) + rows


def _conditions(status: ServiceStatus) -> list[str]:
    return [
        f"  {c.get('type', '?'):<18} {c.get('status', '?'):<8} {c.get('reason', '')}: {c.get('message', '')}"
        for c in status.conditions
    ]


def _swap(status: ServiceStatus) -> list[str]:
    swap, last = status.actuation.swap, status.actuation.last_swap_time
    if swap is None:
        return [f"  last swap {last}"] if last else []
    return ["  " + ", ".join(f"{k}={v}" for k, v in swap.items() if not isinstance(v, (dict, list)))]


def _alerts(status: ServiceStatus) -> list[str]:
    return [
        f"  {a.get('name', '?'):<24} {a.get('state', '?'):<9} {a.get('severity', '')}" for a in status.alerts.records
    ]


def _events(events: Sequence[Mapping[str, Any]]) -> list[str]:
    def when(e: Mapping[str, Any]) -> str:
        return str(e.get("lastTimestamp") or e.get("eventTime") or e.get("firstTimestamp") or "")

    recent = sorted(events, key=when)[-EVENTS_SHOWN:]
    return [f"  {when(e)} {e.get('type', ''):<8} {e.get('reason', ''):<20} {e.get('message', '')}" for e in recent]
