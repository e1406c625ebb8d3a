"""PID → pod UID from cgroup files (v1 and systemd v2 spellings) and UID → pod resolution."""

from __future__ import annotations

from pathlib import Path

import pytest

from governor.agent.pods import ListingPodResolver, PodRef, pod_ref, pod_uid_of

UID = "3f2a1b4c-5d6e-4f70-8192-a3b4c5d6e7f8"


@pytest.mark.parametrize(
    "cgroup",
    [
        f"12:memory:/kubepods/burstable/pod{UID}/0123abcd\n11:cpu:/kubepods/burstable/pod{UID}/0123abcd\n",
        "0::/kubepods.slice/kubepods-besteffort.slice/"
        f"kubepods-besteffort-pod{UID.replace('-', '_')}.slice/cri-o-1.scope\n",
    ],
)
def test_pod_uid_from_cgroup(tmp_path: Path, cgroup: str) -> None:
    (tmp_path / "77").mkdir()
    (tmp_path / "77" / "cgroup").write_text(cgroup)
    assert pod_uid_of(77, tmp_path) == UID


def test_host_process_and_vanished_pid(tmp_path: Path) -> None:
    (tmp_path / "1").mkdir()
    (tmp_path / "1" / "cgroup").write_text("0::/init.scope\n")
    assert pod_uid_of(1, tmp_path) is None
    assert pod_uid_of(99999, tmp_path) is None


def test_listing_resolver_relists_on_miss_at_most_every_interval() -> None:
    now = [0.0]
    meta = {"uid": UID, "namespace": "ml", "name": "chat-0", "labels": {"governor.dev/service": "chat"}}
    listings: list[list[dict[str, object]]] = [[], [{"metadata": meta}]]
    calls = []

    def list_pods() -> list[dict[str, object]]:
        calls.append(now[0])
        return listings[min(len(calls) - 1, 1)]

    resolver = ListingPodResolver(list_pods, min_refresh_seconds=10, clock=lambda: now[0])
    assert resolver.resolve(UID) is None
    now[0] = 5.0
    assert resolver.resolve(UID) is None and len(calls) == 1  # too soon to list again
    now[0] = 11.0
    assert resolver.resolve(UID) == PodRef(UID, "ml", "chat-0", "chat")
    assert pod_ref({"metadata": {"uid": "u", "namespace": "n", "name": "p"}}).service is None
