"""The demo's load story: steady → ramp → flash crowd → back to steady, as a pure function of time.

Phases are laid out as shares of the run, so a short test run at high speed and the default
three-minute run tell the same story. Rates are requests per second offered to the
whole fleet of one service.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StoryPhase:
    """One stretch of the story: the offered rate moves linearly from ``start_rps`` to ``end_rps``."""

    name: str
    until: float  # share of the run (0..1] at which this phase ends
    start_rps: float
    end_rps: float


@dataclass(frozen=True)
class DemoScenario:
    phases: tuple[StoryPhase, ...]

    def at(self, t: float, total: float) -> tuple[float, str]:
        """Offered request rate and phase name ``t`` seconds into a run of ``total`` seconds."""
        share = min(1.0, max(0.0, t / total)) if total > 0 else 1.0
        begin = 0.0
        for phase in self.phases:
            if share <= phase.until:
                span = phase.until - begin
                progress = (share - begin) / span if span > 0 else 1.0
                return phase.start_rps + (phase.end_rps - phase.start_rps) * progress, phase.name
            begin = phase.until
        last = self.phases[-1]
        return last.end_rps, last.name

    @property
    def peak_rps(self) -> float:
        return max(max(p.start_rps, p.end_rps) for p in self.phases)


def flash_crowd(base_rps: float = 6.0, ramp_rps: float = 20.0, crowd_factor: float = 3.0) -> DemoScenario:
    """The default story: a quiet start, a ramp, a flash crowd of ``crowd_factor`` × the ramp's peak, calm again."""
    crowd = ramp_rps * crowd_factor
    return DemoScenario(
        (
            StoryPhase("steady", 0.12, base_rps, base_rps),
            StoryPhase("ramp", 0.34, base_rps, ramp_rps),
            StoryPhase("plateau", 0.40, ramp_rps, ramp_rps),
            StoryPhase("flash-crowd", 0.42, ramp_rps, crowd),
            StoryPhase("flash-crowd", 0.56, crowd, crowd),
            StoryPhase("subsiding", 0.59, crowd, base_rps * 1.5),
            StoryPhase("steady", 1.0, base_rps * 1.5, base_rps * 1.5),
        )
    )
