"""``governor agent``: the NVML node agent (a DaemonSet on GPU nodes).

Samples every GPU with pynvml at ``GOVERNOR_AGENT_INTERVAL_SECONDS``, maps each GPU process to
its pod through the host's /proc (mount it and pass ``--proc-root``) and the API server, and
serves ``/metrics``, ``/v1/gpus`` and ``/healthz`` on ``GOVERNOR_AGENT_PORT``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import socket
from pathlib import Path

from governor.agent.nvml import NvmlProbe
from governor.agent.pods import NoPodResolver, PodResolver, kubernetes_resolver
from governor.agent.server import AgentState, serving
from governor.settings import Settings

logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
    parser.add_argument("--port", type=int, default=None, help="port (default GOVERNOR_AGENT_PORT)")
    parser.add_argument("--interval", type=float, default=None, help="seconds between samples")
    parser.add_argument("--proc-root", default="/proc", help="the host's /proc (default /proc)")
    parser.add_argument(
        "--no-kubernetes", action="store_true", help="do not map processes to pods through the API server"
    )


def main(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = Settings.from_env().agent
    node = settings.node_name or socket.gethostname()
    resolver: PodResolver | None = None
    if not args.no_kubernetes:
        try:
            resolver = kubernetes_resolver(node)
        except NoPodResolver as exc:
            logger.warning("no Kubernetes access (%s): GPU processes will not be mapped to pods", exc)
    probe = NvmlProbe(resolver=resolver, proc_root=Path(args.proc_root))
    port = settings.port if args.port is None else args.port
    interval = settings.interval_seconds if args.interval is None else args.interval
    asyncio.run(_serve(AgentState(node), probe, interval, args.host, port))
    return 0


async def _serve(state: AgentState, probe: NvmlProbe, interval: float, host: str, port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with serving(state, probe.sample, interval, host, port) as bound:
        logger.info("agent for node %s serving on %s:%d every %.1fs", state.node, host, bound, interval)
        await stop.wait()
