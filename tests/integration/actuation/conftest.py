from tests.integration.actuation.fixtures import rig
from tests.support.kube import kube

__all__ = ["kube", "rig"]
