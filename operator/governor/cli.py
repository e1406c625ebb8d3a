"""The ``governor`` command: one subcommand per entry point, each implemented in its own layer.

Subcommand modules are imported lazily so that, say, ``governor simulate`` never loads kopf.
Each module exposes ``add_arguments(parser)`` and ``main(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from governor import package_version
from governor.settings import SettingsError

# subcommand → (module, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "run": ("governor.controller.entry", "run the operator against the current kubeconfig / in-cluster"),
    "agent": ("governor.agent.entry", "run the NVML node agent (DaemonSet on GPU nodes)"),
    "simulate": ("governor.sim.entry", "compare Governor with HPA, KPA and others on one load"),
    "demo": ("governor.demo.entry", "run the operator against an embedded Kubernetes emulator"),
    "explain": ("governor.explain", "show why an InferenceService is where it is: decision, conditions, alerts"),
    "validate": ("governor.validate", "validate InferenceService manifests offline"),
    "prometheus-rules": ("governor.metrics.rules_entry", "print the Prometheus recording rules Governor reads"),
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="governor", description=__doc__.splitlines()[0] if __doc__ else None)
    version = f"governor {package_version()}"
    parser.add_argument("--version", action="version", version=version)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("--version", action="version", version=version)
        if only == name:
            importlib.import_module(module_name).add_arguments(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    try:
        parser = build_parser(only=command if command in SUBCOMMANDS else None)
        args = parser.parse_args(argv)
        module = importlib.import_module(SUBCOMMANDS[args.command][0])
        return int(module.main(args) or 0)
    except SettingsError as exc:  # a bad GOVERNOR_* value: one clear line, whatever the subcommand
        print(f"governor {command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
