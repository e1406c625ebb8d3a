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


from governor.model.resource import GROUP, KIND, PLURAL, SERVICE_LABEL, VERSION  # noqa: E402  (the CR's identity)

__all__ = ["GROUP", "KIND", "PLURAL", "SERVICE_LABEL", "VERSION", "__version__", "package_version"]
