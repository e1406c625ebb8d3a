"""The parsed, validated InferenceService spec as frozen dataclasses.

``governor.model.parse.parse_service`` builds a ``ServiceSpec`` from a CR body and mirrors
every CEL rule of ``crds/inferenceservice.yaml``; everything downstream (policy, metrics,
actuation, alerting) reads only these types, never the raw dict.
Defaults here equal the CRD's defaults, so tests can build specs directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any, NamedTuple


class Precision(StrEnum):
    """Numeric precision a model is served at, from most to least exact."""

    BF16 = "bf16"
    FP16 = "fp16"
    FP8 = "fp8"
    INT8 = "int8"
    INT4 = "int4"


class PrecisionMode(StrEnum):
    AUTO = "Auto"  # the decision engine may swap between variants
    FIXED = "Fixed"  # always serve `preferred`


class SwapMode(StrEnum):
    ROLLING = "Rolling"  # patch the pod template: every pod restarts (replica start-up time)
    IN_PLACE = "InPlace"  # the server loads another model version without a restart


class InPlaceProtocol(StrEnum):
    """How a model server is asked to load another model version without a restart."""

    TRITON = "triton"  # Triton's model-control API (model-control mode explicit)
    HOOK = "http-hook"  # Governor's generic HTTP hook, for custom servers


class MetricsPreset(StrEnum):
    VLLM = "vllm"
    SGLANG = "sglang"
    TRITON = "triton"
    TGI = "tgi"
    GENERIC = "generic"


class SelectPolicy(StrEnum):
    MAX = "Max"
    MIN = "Min"
    DISABLED = "Disabled"


class ServiceKey(NamedTuple):
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


def _frozen(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class TokenCosts:
    """A variant's token costs per replica, from a load test (``variants[].tokenCosts``).

    The token model starts from them and learns the difference online; a field left out takes
    the engine's default for the variant (its bf16 default over ``relativeThroughput``).
    """

    step_ms: float | None = None  # a decode step with nothing else to do
    prefill_us_per_token: float | None = None  # per uncached prompt token
    decode_us_per_sequence: float | None = None  # per sequence in the batch, per step
    attention_ns_per_kv_token: float | None = None  # per KV token a sequence holds, per step
    ttft_base_ms: float | None = None  # TTFT of an empty prompt at no load
    ttft_us_per_token: float | None = None  # TTFT per uncached prompt token at no load
    kv_tokens: float | None = None  # KV-cache capacity of one replica in tokens


@dataclass(frozen=True)
class Variant:
    """One way to serve the model: a precision, what it costs in quality and gives in throughput."""

    precision: Precision
    relative_throughput: float = 1.0  # per-replica service rate relative to the preferred variant
    relative_quality: float = 1.0  # task quality relative to the reference precision, in (0, 1]
    image: str | None = None
    args: tuple[str, ...] | None = None
    env: tuple[Mapping[str, Any], ...] = ()
    resources: Mapping[str, Any] | None = None
    swap_modes: tuple[SwapMode, ...] = (SwapMode.ROLLING,)
    model_version: str | None = None  # for in-place swaps: the server-side model version to load
    token_costs: TokenCosts | None = None  # declared priors of the token model (services with TTFT/ITL)


@dataclass(frozen=True)
class PrecisionSpec:
    mode: PrecisionMode = PrecisionMode.FIXED
    preferred: Precision = Precision.BF16
    quality_floor: float = 1.0
    variants: tuple[Variant, ...] = (Variant(Precision.BF16),)
    min_dwell_seconds: float = 600.0  # a variant is kept at least this long before another swap
    swap_timeout_seconds: float = 900.0  # a swap not ready by then is rolled back
    in_place_max_unavailable: float = 0.25  # share of pods out of service at once during an in-place swap
    model_name: str | None = None  # server-side model name for in-place swaps (Triton)

    def variant(self, precision: Precision) -> Variant | None:
        return next((v for v in self.variants if v.precision == precision), None)

    @property
    def allowed(self) -> tuple[Variant, ...]:
        """Variants at or above the quality floor, preferred (highest quality) first."""
        ok = [v for v in self.variants if v.relative_quality >= self.quality_floor]
        return tuple(sorted(ok, key=lambda v: -v.relative_quality))


@dataclass(frozen=True)
class TokenLatencySLO:
    """An LLM-native latency objective: ``quantile`` of the measured latency stays within ``ms``."""

    ms: float
    quantile: float = 0.9


@dataclass(frozen=True)
class SLOSpec:
    latency_ms: float = 1000.0
    latency_quantile: float = 0.99
    objective: float = 0.999  # share of requests that must finish within latency_ms (and ttft/itl)
    period_days: float = 30.0
    # False when spec.slo declares only token objectives: latency_ms is then the default, used as a
    # scale by the queueing model but never judged (no request-latency breach, condition or alert)
    latency_declared: bool = True
    ttft: TokenLatencySLO | None = None  # time to first token: queueing plus prefill
    itl: TokenLatencySLO | None = None  # inter-token latency (TPOT): one decode step

    @property
    def token_objectives(self) -> bool:
        """True when a TTFT or ITL objective is declared: goodput counts a request good only if it meets all."""
        return self.ttft is not None or self.itl is not None


@dataclass(frozen=True)
class TargetsSpec:
    gpu_utilization: float | None = 0.75
    cache_hit_ratio_floor: float | None = None
    concurrency_per_replica: float | None = None


@dataclass(frozen=True)
class MetricsSpec:
    preset: MetricsPreset = MetricsPreset.GENERIC
    gpu_source: str = "agent"  # "dcgm" | "agent" | "none"
    # Per-signal PromQL templates (signal name → template); placeholders are filled with escaped values.
    overrides: Mapping[str, str] = field(default_factory=lambda: _frozen(None))
    scrape_port: int = 8000
    scrape_path: str = "/metrics"
    model_label: str | None = None  # Triton: the `model` label value; vLLM: `model_name`


@dataclass(frozen=True)
class ScalingPolicy:
    type: str  # "Pods" | "Percent"
    value: int
    period_seconds: int


@dataclass(frozen=True)
class ScalingRules:
    stabilization_window_seconds: int = 0
    select_policy: SelectPolicy = SelectPolicy.MAX
    policies: tuple[ScalingPolicy, ...] = ()


# Kubernetes HPA v2 defaults.
DEFAULT_SCALE_UP = ScalingRules(
    stabilization_window_seconds=0,
    select_policy=SelectPolicy.MAX,
    policies=(ScalingPolicy("Pods", 4, 15), ScalingPolicy("Percent", 100, 15)),
)
DEFAULT_SCALE_DOWN = ScalingRules(
    stabilization_window_seconds=300,
    select_policy=SelectPolicy.MAX,
    policies=(ScalingPolicy("Percent", 100, 15),),
)


@dataclass(frozen=True)
class Behavior:
    scale_up: ScalingRules = DEFAULT_SCALE_UP
    scale_down: ScalingRules = DEFAULT_SCALE_DOWN
    tolerance: float = 0.1


@dataclass(frozen=True)
class AlertsSpec:
    receivers: tuple[str, ...] = ()
    disabled: tuple[str, ...] = ()  # rule names switched off for this service
    severity_overrides: Mapping[str, str] = field(default_factory=lambda: _frozen(None))


@dataclass(frozen=True)
class ScaleTargetRef:
    api_version: str
    kind: str
    name: str


@dataclass(frozen=True)
class ActuationHints:
    """The ``governor.dev/*`` annotations of the InferenceService: per-service knobs of actuation.

    Annotations, not spec fields, because they tune how Governor talks to one server rather than
    what the service is; ``governor.model.annotations`` parses them with the spec."""

    in_place_protocol: InPlaceProtocol | None = None  # None: triton for the triton preset, else http-hook
    in_place_port: int = 8000  # the model server's HTTP port on each pod
    manual_hold_seconds: float | None = None  # None: the operator's default hold
    model_container: str | None = None  # None: the pod template's first container


@dataclass(frozen=True)
class ServiceSpec:
    """Everything Governor needs to know about one InferenceService."""

    namespace: str
    name: str
    generation: int = 1
    uid: str = ""
    template: Mapping[str, Any] | None = None  # owned mode: a PodTemplateSpec
    scale_target_ref: ScaleTargetRef | None = None  # target mode
    replicas: int | None = None  # spec.replicas: a manual override set by `kubectl scale` or an HPA on the CR
    min_replicas: int = 1
    max_replicas: int = 10
    startup_seconds: float = 90.0  # how long a new replica takes to become ready
    slo: SLOSpec = SLOSpec()
    targets: TargetsSpec = TargetsSpec()
    metrics: MetricsSpec = MetricsSpec()
    precision: PrecisionSpec = PrecisionSpec()
    behavior: Behavior = Behavior()
    alerts: AlertsSpec = AlertsSpec()
    observe_only: bool = False
    hints: ActuationHints = ActuationHints()

    @property
    def in_place_protocol(self) -> InPlaceProtocol:
        """The wire protocol of in-place swaps: the annotation's, else the metrics preset's server."""
        if self.hints.in_place_protocol is not None:
            return self.hints.in_place_protocol
        return InPlaceProtocol.TRITON if self.metrics.preset == MetricsPreset.TRITON else InPlaceProtocol.HOOK

    @property
    def in_place_model(self) -> str:
        """The server-side model name in-place swaps load versions of."""
        return self.precision.model_name or self.metrics.model_label or self.name

    @property
    def key(self) -> ServiceKey:
        return ServiceKey(self.namespace, self.name)

    @property
    def owned(self) -> bool:
        return self.template is not None
