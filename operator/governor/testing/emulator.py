"""An embedded Kubernetes API for the demo and the tests, built on KMock's ``KubernetesEmulator``.

No kube-apiserver can run on a developer laptop or in CI here, yet the operator must run unchanged
against something that speaks the Kubernetes API. KMock's emulator stores objects and serves
list/watch/get/create/patch/delete, but does none of the apiserver's bookkeeping. This module adds
the part Kopf and Governor rely on:

* discovery with explicit verbs and subresources (Kopf ignores resources without verbs, and never
  starts its watchers unless namespaces, events and CRDs are discoverable);
* ``metadata.uid``, ``resourceVersion`` (bumped on every write), ``generation`` (bumped when the
  spec changes), ``creationTimestamp``, the namespace taken from the URL, ``generateName``;
* HTTP 422 for a JSON-patch whose ``test`` operation fails (Kopf's finalizer patches rely on it);
* optional injected HTTP 409 conflicts, for tests of retrying writers.

The emulator runs in its own thread with its own event loop (``EmulatorThread``): Kopf cancels every
task of its loop when it stops, so the two cannot share one. It has no garbage collector and no
controllers: whoever needs Deployment status (tests, the demo) must write it.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import threading
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import attrs
import jsonpatch
import kmock
from kmock._internal.rendering import ReactionMismatchError  # raised by a depleted reaction

from governor.model.resource import API_VERSION, KIND, PLURAL, SHORT_NAME
from governor.model.times import now_iso

T = TypeVar("T")

REQUEST_HISTORY = 2000  # recent requests kept in ``emulator.requests`` for assertions
ALL_VERBS = ("list", "watch", "get", "create", "patch", "update", "delete")


@dataclass(frozen=True)
class ResourceDecl:
    """One resource served by the emulator and listed in discovery."""

    api: str  # "v1", "apps/v1", "governor.dev/v1alpha1"
    plural: str
    kind: str
    namespaced: bool = True
    subresources: tuple[str, ...] = ()
    shortnames: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.api}/{self.plural}"


RESOURCES: tuple[ResourceDecl, ...] = (
    ResourceDecl("v1", "namespaces", "Namespace", namespaced=False),
    ResourceDecl("v1", "events", "Event"),
    ResourceDecl("v1", "services", "Service"),
    ResourceDecl("v1", "pods", "Pod", subresources=("status",)),
    ResourceDecl("v1", "configmaps", "ConfigMap"),
    ResourceDecl("v1", "secrets", "Secret"),
    ResourceDecl("apps/v1", "deployments", "Deployment", subresources=("status", "scale")),
    ResourceDecl("apiextensions.k8s.io/v1", "customresourcedefinitions", "CustomResourceDefinition", namespaced=False),
    ResourceDecl(API_VERSION, PLURAL, KIND, subresources=("status", "scale"), shortnames=(SHORT_NAME,)),
)


def declare(emulator: kmock.KubernetesEmulator, resources: tuple[ResourceDecl, ...] = RESOURCES) -> None:
    """Make every resource discoverable with explicit verbs, as Kopf requires."""
    for decl in resources:
        emulator.resources[decl.key] = kmock.ResourceInfo(
            kind=decl.kind,
            singular=decl.kind.lower(),
            namespaced=decl.namespaced,
            verbs=set(ALL_VERBS),
            subresources=set(decl.subresources),
            shortnames=set(decl.shortnames),
        )


ConflictRule = Callable[[kmock.Request], bool]


class _FastDispatch(kmock.RawHandler):
    """KMock's dispatch, minus its cost: it decides whether a reaction's filter accepts a request by
    replaying the whole request history through the filter (``request in view``), which makes every
    request O(history). Here the filter sees a history of just this request — the same answer for
    the emulator's own reactions (sliced user reactions such as ``kmock[...][:1]`` are not supported).
    """

    __slots__ = ()

    async def _handle(self, request: kmock.Request) -> Any:
        for payload in self._ordered_payloads():
            if self._accepts(payload, request) and not payload._disabled.is_set():
                try:
                    return await payload(request)
                except ReactionMismatchError:
                    payload._disabled.set()
                except NotImplementedError:
                    pass
        raise NotImplementedError("no reaction matches the request")

    def _ordered_payloads(self) -> list[Any]:
        priorities = [tuple(-p for p in payload.priorities) for payload in self._payloads]
        width = max((len(p) for p in priorities), default=0)
        padded = [p + (0,) * (width - len(p)) for p in priorities]
        return [self._payloads[i] for i in sorted(range(len(padded)), key=lambda i: padded[i])]

    def _accepts(self, payload: Any, request: kmock.Request) -> bool:
        history = self._requests
        self._requests = [request]  # synchronous: no other request can run in between
        try:
            return request in payload._source
        finally:
            self._requests = history


@attrs.define(kw_only=True)
class GovernorEmulator(kmock.KubernetesEmulator, _FastDispatch):
    """KMock's emulator plus the apiserver bookkeeping that Kopf and Governor depend on."""

    _versions: itertools.count[int] = attrs.field(factory=lambda: itertools.count(1), init=False)
    _write_lock: asyncio.Lock = attrs.field(factory=asyncio.Lock, init=False)
    # Each rule is asked about every write; one that answers True gets HTTP 409 for that request.
    conflict_rules: list[ConflictRule] = attrs.field(factory=list, init=False)

    async def _handle(self, request: kmock.Request) -> Any:
        if len(self._requests) > REQUEST_HISTORY:  # bounded memory for long runs (the demo)
            del self._requests[: REQUEST_HISTORY // 2]
        return await self._handle_tracked(request)

    async def _handle_tracked(self, request: kmock.Request) -> Any:
        if request.resource is None or request.action not in (kmock.action.CREATE, kmock.action.UPDATE):
            return await super()._handle(request)
        async with self._write_lock:
            if any(rule(request) for rule in list(self.conflict_rules)):
                raise kmock.KubernetesError(status=409, reason="Conflict", message="injected conflict")
            # KMock matches requests by identity, so the bookkeeping edits the parsed body in place.
            if request.action == kmock.action.CREATE:
                self._prepare_create(request)
            else:
                self._prepare_patch(request)
            return await super()._handle(request)

    def _prepare_create(self, request: kmock.Request) -> None:
        if not isinstance(request.data, dict):
            raise kmock.KubernetesError(status=400, reason="BadRequest", message="the body must be an object")
        meta = request.data.setdefault("metadata", {})
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = f"{meta['generateName']}{uuid.uuid4().hex[:5]}"
        if request.namespace and not meta.get("namespace"):
            meta["namespace"] = request.namespace
        meta["uid"] = str(uuid.uuid4())
        meta["resourceVersion"] = str(next(self._versions))
        meta["generation"] = 1
        meta["creationTimestamp"] = now_iso()

    def _prepare_patch(self, request: kmock.Request) -> None:
        current = self._current(request)
        if current is None:
            raise kmock.KubernetesObjectNotFoundError()
        try:
            patched = _apply(current, request.data)
        except jsonpatch.JsonPatchTestFailed as exc:
            raise kmock.KubernetesError(status=422, reason="Invalid", message=f"test operation failed: {exc}") from None
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
            raise kmock.KubernetesError(status=422, reason="Invalid", message=str(exc)) from None
        meta = current.get("metadata", {})
        bookkeeping: dict[str, Any] = {"resourceVersion": str(next(self._versions))}
        if request.subresource is None and patched.get("spec") != current.get("spec"):
            bookkeeping["generation"] = int(meta.get("generation", 1)) + 1
        if isinstance(request.data, list):
            request.data.extend({"op": "add", "path": f"/metadata/{k}", "value": v} for k, v in bookkeeping.items())
        elif isinstance(request.data, dict):
            request.data.setdefault("metadata", {}).update(bookkeeping)

    def _current(self, request: kmock.Request) -> dict[str, Any] | None:
        if request.resource is None or request.name is None:
            return None
        key = (request.resource, request.namespace, request.name)
        if key not in self.objects or self.objects[key].deleted:
            return None
        return copy.deepcopy(self.objects[key].raw)


def _apply(current: dict[str, Any], patch: Any) -> dict[str, Any]:
    """The object as the emulator will store it after ``patch`` (merge dict or JSON-patch list)."""
    if isinstance(patch, list):
        return dict(jsonpatch.apply_patch(current, patch, in_place=False))
    probe = kmock.Object(current)
    probe.patch(patch if isinstance(patch, dict) else {})
    return probe.raw


@dataclass
class EmulatorThread:
    """Runs a ``GovernorEmulator`` behind a loopback HTTP server in a thread with its own loop."""

    host: str = "127.0.0.1"
    emulator: GovernorEmulator = field(default_factory=GovernorEmulator)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)
    _stop: asyncio.Event | None = field(default=None, init=False)
    _ready: threading.Event = field(default_factory=threading.Event, init=False)
    _url: str | None = field(default=None, init=False)
    _error: BaseException | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("the emulator is not running")
        return self._url

    def start(self, timeout: float = 30.0) -> str:
        declare(self.emulator)
        self._thread = threading.Thread(target=self._run, name="kube-emulator", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout) or self._error is not None:
            raise RuntimeError(f"the Kubernetes emulator did not start: {self._error!r}")
        return self.url

    def stop(self, timeout: float = 30.0) -> None:
        if self._loop is not None and self._stop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise RuntimeError("the Kubernetes emulator did not stop")

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run ``coro`` on the emulator's loop (the only safe way to touch its objects directly)."""
        if self._loop is None:
            raise RuntimeError("the emulator is not running")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def __enter__(self) -> EmulatorThread:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported to start() through _error; the thread ends here
            self._error = exc
            self._ready.set()
        finally:
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        async with self.emulator, kmock.Server(self.emulator, host=self.host) as server:
            self._url = str(server.url).rstrip("/")
            self._ready.set()
            await self._stop.wait()
