"""``governor explain`` reads a live InferenceService and its Events through the API."""

from __future__ import annotations

import argparse

import pytest

from governor import explain
from tests.integration.controller.test_owned import NS, service
from tests.support.kube import KubeHarness


def test_explain_against_the_emulator(kube: KubeHarness, capsys: pytest.CaptureFixture[str]) -> None:
    with kube.operator(tick_seconds=0.5):
        kube.client.create("inferenceservices", service("chat"))
        kube.wait_for(lambda: kube.events(NS, involved="chat", reason="Created"), what="Created event")
    rc = explain.main(argparse.Namespace(service=f"{NS}/chat", server=kube.url))
    out = capsys.readouterr().out
    assert rc == 0
    assert f"InferenceService {NS}/chat" in out
    assert "Created" in out
    assert "Ready" in out


def test_explain_unknown_service_fails_clearly(kube: KubeHarness, capsys: pytest.CaptureFixture[str]) -> None:
    rc = explain.main(argparse.Namespace(service=f"{NS}/absent", server=kube.url))
    assert rc == 1
    assert f"{NS}/absent" in capsys.readouterr().err
