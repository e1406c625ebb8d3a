"""Where the demo's story is shown: a live status block on a terminal, change-only rows elsewhere, or JSON.

A row per tick made 180 near-identical lines. On a terminal (``isatty``) the rows of the
current tick are a small block redrawn in place with plain ANSI (cursor up, clear to the end
of the screen), under which Events, alerts and phase changes scroll by. Anywhere else (CI,
a pipe, a file) a service's row is printed only when something an SRE would look at changed
— the phase, the ready or wanted replicas, the precision, the SLO state — plus a heartbeat
row every ``HEARTBEAT_SECONDS`` of simulated time, so a quiet stretch still shows the clock.
Set-up steps print with the seconds elapsed, so the wait before the story is never silent.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass, field
from typing import Any, TextIO

from governor.demo import report
from governor.demo.report import TickRecord

HEARTBEAT_SECONDS = 60.0  # simulated seconds between rows when nothing changes (non-terminal output)
BAR_WIDTH = 24


def change_key(rec: TickRecord) -> tuple[object, ...]:
    """What makes a row worth printing again: phase, replicas, precision, SLO state."""
    return rec.phase, rec.ready, rec.desired, rec.precision, report.slo_state(rec)


@dataclass
class ChangeFilter:
    """Decides which ticks become rows when the output is not a terminal."""

    heartbeat_seconds: float = HEARTBEAT_SECONDS
    last: dict[str, tuple[object, ...]] = field(default_factory=dict)
    last_printed: dict[str, float] = field(default_factory=dict)

    def wanted(self, rec: TickRecord) -> bool:
        key = change_key(rec)
        due = rec.t - self.last_printed.get(rec.service, -float("inf")) >= self.heartbeat_seconds
        if self.last.get(rec.service) == key and not due:
            return False
        self.last[rec.service], self.last_printed[rec.service] = key, rec.t
        return True


def progress(t: float, total: float, width: int = BAR_WIDTH) -> str:
    t = min(max(0.0, t), total)
    share = t / total if total > 0 else 0.0
    done = round(share * width)
    return f"[{'█' * done}{'░' * (width - done)}] {report.clock(t)} / {report.clock(total)} simulated"


class Printer:
    """The session's sink: ``mode`` is ``live`` (a terminal), ``changes``, ``quiet`` or ``json``."""

    def __init__(self, mode: str, stream: TextIO | None = None, width: int | None = None) -> None:
        self.mode = mode
        self.out = stream or sys.stdout
        self.width = min(report.ROW_WIDTH, width or shutil.get_terminal_size((report.ROW_WIDTH, 24)).columns)
        self.filter = ChangeFilter()
        self.block: list[str] = []  # the live block currently on screen
        self.current: dict[str, TickRecord] = {}
        self.phase = ""
        self.story_start: float | None = None  # simulated second the load story began at
        self.total = 0.0
        self.header_printed = False

    def __call__(self, kind: str, payload: Any) -> None:
        if self.mode == "json":
            self._write(report.as_json(kind, payload))
        elif kind == "start":
            self._line(report.fit(f"governor demo: {payload['backend']}; services {', '.join(payload['services'])}"))
        elif kind == "setup":
            self._line(f"  [{payload['elapsed_s']:6.1f} s] {payload['step']}")
        elif kind == "story":
            self.story_start, self.total = float(payload["start"]), float(payload["simulated_seconds"])
        elif kind == "tick":
            self._tick(payload)
        elif kind == "event":
            what = f"  ⮑ Event {payload['type']} {payload['reason']} {payload['object']}: {payload['message']}"
            self._line(report.fit(what, self.width))
        elif kind == "alert":
            state = "FIRING" if payload["status"] == "firing" else "resolved"
            what = f"{payload['alertname']} [{payload['severity']}] {payload['service']}"
            self._line(report.fit(f"  ⚑ alert {state} {what}: {payload['summary']}", self.width))

    def finish(self) -> None:
        """Leave the last live block on screen as plain lines."""
        self.block = []

    def _tick(self, rec: TickRecord) -> None:
        if self.mode == "quiet":
            return
        if self.mode == "live":
            if rec.phase != self.phase:
                self.phase = rec.phase
                self._line(f"── {report.clock(rec.t)} phase: {rec.phase} (offered {rec.offered_rps:.0f} req/s)")
            self.current[rec.service] = rec
            self._redraw(self._live_block(rec))
            return
        if self.filter.wanted(rec):
            if not self.header_printed:
                self._write(report.header(rec.slo_ms, self.width))
                self.header_printed = True
            self._write(report.row(rec, self.width))

    def _live_block(self, rec: TickRecord) -> list[str]:
        rows = [report.row(r, self.width) for r in self.current.values()]
        if self.story_start is None:
            where = "waiting for the first replica to be Ready"
        else:
            where = progress(rec.t - self.story_start, self.total)
        block = [report.header(rec.slo_ms, self.width), *rows, "  " + where]
        return [line[: self.width] for line in block]

    def _line(self, text: str) -> None:
        """A line that scrolls: above the live block, which is drawn again under it."""
        block = self.block
        self._redraw([])
        self._write(text)
        self._redraw(block)

    def _redraw(self, block: list[str]) -> None:
        if self.block:
            self.out.write(f"\x1b[{len(self.block)}F\x1b[J")
        self.block = list(block)
        for line in block:
            self.out.write(line + "\n")
        self.out.flush()

    def _write(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()


def mode_for(json: bool, quiet: bool, stream: TextIO) -> str:
    if json:
        return "json"
    if quiet:
        return "quiet"
    return "live" if stream.isatty() else "changes"
