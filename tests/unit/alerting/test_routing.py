"""Routing, inhibition, repeats and what each receiver is owed."""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType

from governor.alerting.lifecycle import advance
from governor.alerting.routing import RESOLVED_RETENTION, apply_inhibition, owed, prune, routed_receivers
from governor.alerting.types import AlertRecord, Condition, Delivery, Event, Severity, frozen_labels
from tests.unit.alerting.factories import config, spec

T = 2_000_000.0
CFG = config()


def record(severity: Severity = Severity.CRITICAL, alertname: str = "SLOErrorBudgetBurn", **extra: str) -> AlertRecord:
    labels = {"alertname": alertname, "namespace": "ml", "service": "chat", "severity": severity.value, **extra}
    c = Condition("r", True, severity, frozen_labels(labels), frozen_labels({"summary": "s"}), 0.0)
    (r,) = advance((), [c], T)
    return r


def test_unknown_receiver_is_a_clear_error() -> None:
    routed, errors = routed_receivers(spec(receivers=("pager", "nope")), CFG)
    assert [r.name for r in routed] == ["pager"]
    assert len(errors) == 1
    assert errors[0].path == "spec.alerts.receivers[1]"
    assert "'nope'" in errors[0].message and "pager" in errors[0].message


def test_default_receivers_when_the_cr_names_none() -> None:
    routed, errors = routed_receivers(spec(receivers=()), CFG)
    assert [r.name for r in routed] == ["slack"] and errors == []


def test_receiver_match_filters_by_severity() -> None:
    routed, _ = routed_receivers(spec(receivers=("pager", "slack")), CFG)
    crit = owed(record(Severity.CRITICAL), routed, CFG, T)
    warn = owed(record(Severity.WARNING), routed, CFG, T)
    assert {n.receiver for n in crit} == {"pager", "slack"}
    assert {n.receiver for n in warn} == {"slack"}


def test_acknowledged_transition_is_not_owed_again_until_repeat() -> None:
    routed, _ = routed_receivers(spec(receivers=("slack",)), CFG)
    r = replace(record(), deliveries=MappingProxyType({"slack": Delivery(1, 0, T)}))
    assert owed(r, routed, CFG, T + 10) == ()
    (repeat,) = owed(r, routed, CFG, T + 3600)
    assert (repeat.seq, repeat.repeat, repeat.event) == (1, 1, Event.FIRING)


def test_resolve_is_owed_only_to_receivers_that_got_the_firing() -> None:
    routed, _ = routed_receivers(spec(receivers=("pager", "slack")), CFG)
    r = replace(record(), deliveries=MappingProxyType({"slack": Delivery(1, 0, T)}))
    (resolved,) = advance([r], [], T + 60)
    notes = owed(resolved, routed, CFG, T + 60)
    assert [(n.receiver, n.event, n.ends_at) for n in notes] == [("slack", Event.RESOLVED, T + 60)]


def test_critical_inhibits_warning_of_the_same_alertname_and_service() -> None:
    page = record(Severity.CRITICAL, burn="page")
    ticket = record(Severity.WARNING, burn="ticket")
    other = record(Severity.WARNING, alertname="GPUSaturated")
    marked = {
        r.labels.get("burn", r.name): r.inhibited for r in apply_inhibition([page, ticket, other], CFG.inhibit_rules)
    }
    assert marked == {"page": False, "ticket": True, "GPUSaturated": False}
    routed, _ = routed_receivers(spec(receivers=("slack",)), CFG)
    inhibited = next(r for r in apply_inhibition([page, ticket], CFG.inhibit_rules) if r.inhibited)
    assert owed(inhibited, routed, CFG, T) == ()


def test_inhibition_lifts_when_the_source_resolves() -> None:
    page = record(Severity.CRITICAL, burn="page")
    ticket = record(Severity.WARNING, burn="ticket")
    (resolved_page,) = advance([page], [], T + 5)
    marked = apply_inhibition([resolved_page, ticket], CFG.inhibit_rules)
    assert not any(r.inhibited for r in marked)


def test_group_key_uses_group_by_labels() -> None:
    routed, _ = routed_receivers(spec(receivers=("slack",)), CFG)
    a = owed(record(Severity.WARNING, alertname="A"), routed, CFG, T)[0]
    b = owed(record(Severity.WARNING, alertname="B"), routed, CFG, T)[0]
    assert a.group_key == b.group_key  # grouped by namespace + service by default


def test_prune_keeps_owed_and_recent_resolves() -> None:
    (resolved,) = advance([record()], [], T)
    fp = resolved.fingerprint
    assert prune([resolved], set(), T + 10) == (resolved,)
    assert prune([resolved], {fp}, T + RESOLVED_RETENTION + 1) == (resolved,)
    assert prune([resolved], set(), T + RESOLVED_RETENTION + 1) == ()
    assert prune([resolved], {fp}, T + 86400) == ()


def test_a_receiver_is_named_only_from_the_namespaces_it_is_open_to() -> None:
    text = """
receivers:
  - {name: platform-pager, kind: webhook, url: http://127.0.0.1:1/p}
  - {name: ml-slack, kind: webhook, url: http://127.0.0.1:1/m, namespaces: [ml, ml-*]}
  - {name: shared, kind: webhook, url: http://127.0.0.1:1/s, namespaces: ["*"]}
default_receivers: [platform-pager]
"""
    cfg = config(text)
    routed, errors = routed_receivers(spec(receivers=("platform-pager", "ml-slack", "shared")), cfg)
    assert [r.name for r in routed] == ["ml-slack", "shared"]
    assert [(e.path, e.message) for e in errors] == [
        (
            "spec.alerts.receivers[0]",
            "receiver 'platform-pager' is not open to namespace 'ml' (its 'namespaces' in the ConfigMap)",
        )
    ]
    other = replace(spec(receivers=("ml-slack",)), namespace="payments")
    routed, errors = routed_receivers(other, cfg)
    assert routed == () and "not open to namespace 'payments'" in errors[0].message
    # An unknown name lists only what this namespace may use; defaults are the administrator's choice.
    _, errors = routed_receivers(replace(spec(receivers=("nope",)), namespace="ml-search"), cfg)
    assert errors[0].message == "unknown receiver 'nope' (open to namespace ml-search: ml-slack, shared)"
    routed, errors = routed_receivers(replace(spec(receivers=()), namespace="payments"), cfg)
    assert [r.name for r in routed] == ["platform-pager"] and errors == []


def test_namespace_patterns_are_checked() -> None:
    from governor.alerting.config import ConfigError

    try:
        config("receivers: [{name: a, kind: webhook, url: 'http://x/', namespaces: ['ML', 'a b']}]")
    except ConfigError as exc:
        paths = [e.path for e in exc.errors]
    else:
        raise AssertionError("bad namespace patterns were accepted")
    assert paths == ["receivers[0].namespaces[0]", "receivers[0].namespaces[1]"]
