from tests.support.kube import kube

__all__ = ["kube"]
