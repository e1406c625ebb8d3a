"""Variant overrides on the model container, and the manual-scale plan."""

from __future__ import annotations

import pytest

from governor.actuate.scaling import ManualScale, hold_seconds, plan_scale
from governor.actuate.swap.overrides import (
    ContainerNotFound,
    apply_variant,
    container_matches,
    model_container_index,
    with_container,
)
from governor.model import Decision, Precision, ScaleDirection, ServiceSpec, Variant
from governor.model.parse import parse_service

TEMPLATE = {"spec": {"containers": [{"name": "proxy", "image": "p"}, {"name": "server", "image": "s:1"}]}}


def test_model_container_is_the_first_or_the_named_one() -> None:
    assert model_container_index(TEMPLATE) == 0
    assert model_container_index(TEMPLATE, "server") == 1
    with pytest.raises(ContainerNotFound):
        model_container_index(TEMPLATE, "missing")
    with pytest.raises(ContainerNotFound):
        model_container_index({"spec": {}})


def test_variant_overrides_image_args_env_by_name_and_resources_per_key() -> None:
    container = {
        "name": "server",
        "image": "s:1",
        "args": ["--dtype", "bf16"],
        "env": [{"name": "A", "value": "1"}, {"name": "QUANT", "value": "none"}],
        "resources": {"limits": {"cpu": "4", "nvidia.com/gpu": "2"}, "requests": {"cpu": "2"}},
    }
    variant = Variant(
        Precision.FP8,
        image="s:fp8",
        args=("--dtype", "fp8"),
        env=({"name": "QUANT", "value": "fp8"}, {"name": "B", "value": "2"}),
        resources={"limits": {"nvidia.com/gpu": "1"}},
    )
    result = apply_variant(container, variant)
    assert result["image"] == "s:fp8" and result["args"] == ["--dtype", "fp8"]
    assert result["env"] == [
        {"name": "A", "value": "1"},
        {"name": "QUANT", "value": "fp8"},
        {"name": "B", "value": "2"},
    ]
    assert result["resources"] == {"limits": {"cpu": "4", "nvidia.com/gpu": "1"}, "requests": {"cpu": "2"}}
    assert container["image"] == "s:1"  # the input is untouched
    assert apply_variant(container, Variant(Precision.BF16)) == container  # no overrides, no change


def test_with_container_replaces_only_the_model_container() -> None:
    containers = with_container(TEMPLATE, {"name": "server", "image": "s:2"}, "server")
    assert containers == [{"name": "proxy", "image": "p"}, {"name": "server", "image": "s:2"}]


def test_container_matches_tolerates_server_defaults() -> None:
    wanted = {"name": "server", "image": "s:2", "env": [{"name": "A", "value": "1"}]}
    actual = {**wanted, "imagePullPolicy": "IfNotPresent", "env": [{"name": "A", "value": "1"}]}
    assert container_matches(actual, wanted)
    assert not container_matches({**actual, "image": "s:1"}, wanted)
    assert not container_matches({**actual, "env": []}, wanted)


def test_container_matches_compares_resource_quantities_as_amounts() -> None:
    """The API server writes back 1 → "1", 0.5 → "500m", 1024Mi → "1Gi"; those are the container that was sent."""
    wanted = {
        "name": "server",
        "image": "s:int4",
        "resources": {"limits": {"nvidia.com/gpu": 1, "cpu": 0.5, "memory": "1024Mi"}, "requests": {"cpu": "250m"}},
    }
    returned = {
        "name": "server",
        "image": "s:int4",
        "imagePullPolicy": "IfNotPresent",
        "resources": {"limits": {"cpu": "500m", "memory": "1Gi", "nvidia.com/gpu": "1"}, "requests": {"cpu": "250m"}},
    }
    assert container_matches(returned, wanted)
    limits = returned["resources"]["limits"]
    assert not container_matches({**returned, "resources": {"limits": {**limits, "memory": "2Gi"}}}, wanted)
    assert not container_matches({**returned, "resources": {"limits": {**limits, "cpu": "1"}}}, wanted)
    assert not container_matches({**returned, "resources": {"limits": limits}}, wanted)  # requests missing
    assert not container_matches({**returned, "resources": {}}, wanted)
    assert not container_matches({k: v for k, v in returned.items() if k != "resources"}, wanted)
    assert not container_matches({**returned, "image": "s:bf16"}, wanted)  # the rest is compared as before
    # Extra resource names the API server (or a person) added are tolerated, as other defaults are.
    more = {"limits": {**limits, "ephemeral-storage": "1Gi"}, "requests": {"cpu": "0.25", "memory": "1Gi"}}
    assert container_matches({**returned, "resources": more}, wanted)


def _decision(current: int, wanted: int) -> Decision:
    direction = ScaleDirection.UP if wanted > current else ScaleDirection.DOWN
    return Decision(0.0, current, wanted, Precision.BF16, Precision.BF16, direction, ("load",))


SPEC = ServiceSpec("ml", "chat", template={}, min_replicas=1, max_replicas=8)
MANUAL = ServiceSpec("ml", "chat", template={}, min_replicas=1, max_replicas=8, replicas=6)


@pytest.mark.parametrize(
    ("name", "spec", "previous", "current", "wanted", "swapping", "now", "target"),
    [
        ("policy scales up", SPEC, None, 2, 4, False, 0, 4),
        ("policy scales down", SPEC, None, 4, 2, False, 0, 2),
        ("within bounds", SPEC, None, 4, 20, False, 0, 8),
        ("nothing to do", SPEC, None, 4, 4, False, 0, None),
        ("no scale-down during a swap", SPEC, None, 4, 2, True, 0, None),
        ("scale-up during a swap", SPEC, None, 4, 5, True, 0, 5),
        ("new manual value holds", MANUAL, None, 2, 1, False, 0, 6),
        ("manual hold still active", MANUAL, ManualScale(6, 0, 900), 6, 1, False, 500, None),
        ("manual hold expired", MANUAL, ManualScale(6, 0, 900), 6, 1, False, 901, 1),
        ("released hold is not re-applied", MANUAL, ManualScale(6, 0, 900, True), 3, 3, False, 5000, None),
    ],
)
def test_scale_plan(name, spec, previous, current, wanted, swapping, now, target) -> None:  # type: ignore[no-untyped-def]
    plan = plan_scale(spec, _decision(current, wanted), current, previous, swapping, now, 900)
    assert plan.target == target


def test_manual_scale_events_and_removal() -> None:
    started = plan_scale(MANUAL, None, 2, None, False, 0, 60)
    assert [n.reason for n in started.notes] == ["ManualScale"] and started.manual == ManualScale(6, 0, 60)
    expired = plan_scale(MANUAL, None, 6, started.manual, False, 61, 60)
    assert (
        [n.reason for n in expired.notes] == ["ManualScaleExpired"]
        and expired.manual is not None
        and expired.manual.released
    )
    removed = plan_scale(SPEC, None, 6, started.manual, False, 10, 60)
    assert [n.reason for n in removed.notes] == ["ManualScaleReleased"] and removed.manual is None


@pytest.mark.parametrize(
    ("annotations", "seconds"),
    [
        ({}, 900.0),
        ({"governor.dev/manual-hold-seconds": "60"}, 60.0),
        ({"governor.dev/manual-hold-seconds": "0"}, 0.0),
    ],
)
def test_hold_seconds_annotation(annotations: dict[str, str], seconds: float) -> None:
    """Only a parsed hold reaches actuation ("soon", "-5" or "1e12" make the spec Invalid: tests/unit/model)."""
    body = {"metadata": {"name": "chat", "annotations": annotations}, "spec": {"scaleTargetRef": {"name": "m"}}}
    assert hold_seconds(parse_service(body)) == seconds
    assert hold_seconds(parse_service(body), default=30.0) == (30.0 if not annotations else seconds)
