"""Actuation: turns a decision into changes on the cluster, safely and in the open.

Why a layer of its own: a decision is pure, but carrying it out is not — the workload may be
owned (a Deployment Governor renders from the CR's template) or a target someone else owns (the
``scale`` subresource), a manual ``kubectl scale`` is a hold to respect, and a precision swap is a
multi-step change (a rolling update, or model loads in place on running pods) that must survive a
restart halfway and roll back when it fails. ``Actuator.apply`` is the door; ``scaling`` sets
replicas, ``swap``/``swapdriver``/``rollout``/``inplace`` carry a swap through its journal, and
``render``/``overrides`` build the pod template of each variant. It talks to the API only
through ``governor.kube``.
"""
