"""The Kubernetes writes of actuation, each idempotent and retried on 409 with a fresh read.

A JSON merge patch replaces lists whole, so changing the model container means writing the whole
container list — computed from a read of the Deployment and sent with that read's
``metadata.resourceVersion`` as a precondition. If anyone else wrote in between, the API answers
409 Conflict; the write is recomputed from a fresh read and tried again (a few times). A write
whose result is already in place is skipped, so repeating any step after a restart is harmless.
"""

from __future__ import annotations

from governor.actuate.swap.overrides import container_matches, model_container, with_container
from governor.actuate.swap.selectors import label_selector, pod_labels, selects
from governor.kube.client import ApiError, KubeApi, KubeObject, api_path
from governor.kube.retries import retry_conflicts


async def set_model_container(
    api: KubeApi,
    path: str,
    container: KubeObject,
    rolling_update: KubeObject | None,
    container_name: str | None,
) -> bool:
    """Make the Deployment's model container (and rollingUpdate) equal to these; ``False`` if already so."""

    async def attempt() -> bool:
        current = await api.get(path)
        spec = current.get("spec") or {}
        template = spec.get("template") or {}
        strategy_ok = rolling_update is None or _rolling_update(current) == dict(rolling_update)
        if container_matches(model_container(template, container_name), container) and strategy_ok:
            return False
        spec_patch: dict[str, object] = {
            "template": {"spec": {"containers": with_container(template, container, container_name)}}
        }
        if rolling_update is not None:
            spec_patch["strategy"] = {"type": "RollingUpdate", "rollingUpdate": dict(rolling_update)}
        patch = {
            "metadata": {"resourceVersion": (current.get("metadata") or {}).get("resourceVersion")},
            "spec": spec_patch,
        }
        await api.patch(path, patch)
        return True

    return await retry_conflicts(attempt, f"model container of {path}")


async def set_rolling_update(api: KubeApi, path: str, rolling_update: KubeObject) -> bool:
    """Restore a Deployment's rollingUpdate parameters (no rollout: the template is untouched)."""

    async def attempt() -> bool:
        current = await api.get(path)
        if _rolling_update(current) == dict(rolling_update):
            return False
        patch = {
            "metadata": {"resourceVersion": (current.get("metadata") or {}).get("resourceVersion")},
            "spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": dict(rolling_update)}},
        }
        await api.patch(path, patch)
        return True

    return await retry_conflicts(attempt, f"strategy of {path}")


def _rolling_update(deployment: KubeObject) -> KubeObject:
    return dict(((deployment.get("spec") or {}).get("strategy") or {}).get("rollingUpdate") or {})


async def list_pods(api: KubeApi, namespace: str, selector: object) -> list[KubeObject]:
    """The pods ``selector`` (a workload's ``spec.selector``) selects, filtered here too: not every API
    filters. Raises ``UnsupportedSelector`` for a selector that cannot be expressed safely."""
    query = label_selector(selector)
    pods = await api.list(api_path("v1", "pods", namespace), label_selector=query)
    return [p for p in pods if selects(selector, pod_labels(p))]


async def delete_pod(api: KubeApi, namespace: str, name: str) -> None:
    """Delete a pod so its Deployment recreates it from the template; a missing pod is already gone."""
    try:
        await api.delete(api_path("v1", "pods", namespace, name))
    except ApiError as exc:
        if not exc.not_found:
            raise
