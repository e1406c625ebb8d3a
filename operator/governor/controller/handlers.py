"""Every Kopf decorator of Governor, in one place, each handler one call into ``Controller``.

``build_registry`` returns a fresh ``kopf.OperatorRegistry`` bound to one ``Controller``, so the
operator, the demo and each test run their own instance with their own collaborators, without
module-level state. API errors become ``kopf.TemporaryError`` here (Kopf retries later); an
invalid spec is not an error at all — it is reported in status and Events.
"""

from __future__ import annotations

from typing import Any

import kopf

from governor.controller.app import Controller
from governor.kube.client import ApiError
from governor.model.resource import GROUP, PLURAL, VERSION

RETRY_DELAY = 5.0


def build_registry(controller: Controller) -> kopf.OperatorRegistry:
    registry = kopf.OperatorRegistry()

    @kopf.on.startup(registry=registry)
    async def start(settings: kopf.OperatorSettings, **_: object) -> None:
        controller.configure_kopf(settings)
        await controller.start()

    @kopf.on.cleanup(registry=registry)
    async def stop(**_: object) -> None:
        await controller.stop()

    @kopf.on.login(registry=registry)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        return controller.login(**kwargs)

    @kopf.on.resume(GROUP, VERSION, PLURAL, registry=registry)
    async def resumed(body: kopf.Body, **_: object) -> None:
        await _changed(controller, body)

    @kopf.on.create(GROUP, VERSION, PLURAL, registry=registry)
    async def created(body: kopf.Body, **_: object) -> None:
        await _changed(controller, body)

    @kopf.on.update(GROUP, VERSION, PLURAL, field="spec", registry=registry)
    async def updated(body: kopf.Body, **_: object) -> None:
        await _changed(controller, body)

    # The governor.dev/* annotations are parsed with the spec: a change to them is a change of the spec.
    @kopf.on.update(GROUP, VERSION, PLURAL, field="metadata.annotations", registry=registry)
    async def annotated(body: kopf.Body, **_: object) -> None:
        await _changed(controller, body)

    # A watch-event handler, not @kopf.on.delete: no finalizer, so deleting an InferenceService never
    # hangs on a stopped operator; owned objects go with it through their ownerReferences anyway.
    @kopf.on.event(GROUP, VERSION, PLURAL, registry=registry)
    async def deleted(type: str | None, body: kopf.Body, **_: object) -> None:
        if type != "DELETED":
            return
        try:
            await controller.service_deleted(body)
        except ApiError as exc:
            raise kopf.TemporaryError(str(exc), delay=RETRY_DELAY) from exc

    return registry


async def _changed(controller: Controller, body: kopf.Body) -> None:
    try:
        await controller.service_changed(body)
    except ApiError as exc:
        raise kopf.TemporaryError(str(exc), delay=RETRY_DELAY) from exc
