"""Governor: SLO-aware autoscaling, precision swapping and alerting for GPU inference on Kubernetes.

The package is layered (see ``pyproject.toml``'s import-linter contracts):
``cli``/``demo`` → ``controller`` → ``actuate``/``alerting``/``metrics``/``agent`` → ``sim`` →
``policy`` → ``model``/``settings``. Imports point downwards only.
"""

from importlib import metadata

__version__ = "0.1.0"


def package_version() -> str:
    """The installed distribution's version (``governor --version``), else ``__version__`` (a bare checkout)."""
    try:
        return metadata.version("inference-governor")
    except metadata.PackageNotFoundError:
        return __version__


GROUP = "governor.dev"
VERSION = "v1alpha1"
PLURAL = "inferenceservices"
KIND = "InferenceService"
SERVICE_LABEL = "governor.dev/service"
