"""Actuation: turns a decision into changes on the cluster, safely and in the open.

Why a layer of its own: a decision is pure, but carrying it out is not — the workload may be
owned (a Deployment Governor renders from the CR's template) or a target someone else owns (the
``scale`` subresource), a manual ``kubectl scale`` is a hold to respect, and a precision swap is a
multi-step change (a rolling update, or model loads in place on running pods) that must survive a
restart halfway and roll back when it fails. ``Actuator.apply`` is the door; ``scaling`` sets
replicas, the ``swap`` package carries a precision swap through its journal (rolling or in
place), and ``render`` builds the owned Deployment. It talks to the API only through
``governor.kube``.
"""
