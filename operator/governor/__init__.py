"""Governor: SLO-aware autoscaling, precision swapping and alerting for GPU inference on Kubernetes.

The package is layered (see ``pyproject.toml``'s import-linter contracts):
``cli``/``demo`` → ``controller`` → ``actuate``/``alerting``/``metrics``/``agent`` → ``sim`` →
``policy`` → ``model``/``settings``. Imports point downwards only.
"""

__version__ = "0.1.0"

GROUP = "governor.dev"
VERSION = "v1alpha1"
PLURAL = "inferenceservices"
KIND = "InferenceService"
SERVICE_LABEL = "governor.dev/service"
