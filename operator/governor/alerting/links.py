"""Where an alert points an SRE: its runbook, its source link and the cluster it comes from.

An alert that arrives at 3 a.m. must say where it comes from and what to do. The receivers
ConfigMap sets three things, reloaded with it:

* ``cluster``: added as a ``cluster`` label to every alert, so one Alertmanager can serve
  many clusters and route or silence by cluster;
* ``runbook_url``: a URL template for the ``runbook_url`` annotation, one page (or anchor)
  per rule; by default the rule's section of ``docs/alerting.md``;
* ``generator_url``: a URL template for Alertmanager's ``generatorURL`` (its "Source" link),
  typically the InferenceService in a console or dashboard; by default the runbook URL.

Templates take ``{rule}`` (the rule name in lower case, which is also its anchor in
``docs/alerting.md``), ``{alertname}``, ``{namespace}``, ``{service}``, ``{severity}`` and
``{cluster}``; values are percent-encoded, so a rendered template stays one valid URL.
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from governor.alerting.types import Condition, frozen_labels

DEFAULT_RUNBOOK_URL = "https://github.com/inference-governor/governor/blob/main/docs/alerting.md#{rule}"
PLACEHOLDERS = ("rule", "alertname", "namespace", "service", "severity", "cluster")
CLUSTER_LABEL = "cluster"
RUNBOOK_ANNOTATION = "runbook_url"
CLUSTER_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_UNSAFE = re.compile(r"[\s<>|\"'`\\^{}\x00-\x1f\x7f]")  # never in a URL we send (and safe inside a Slack link)


@dataclass(frozen=True)
class AlertLinks:
    """The ConfigMap's ``cluster``, ``runbook_url`` and ``generator_url``, and how each alert renders them."""

    cluster: str = ""  # "" adds no cluster label
    runbook_url: str = DEFAULT_RUNBOOK_URL
    generator_url: str = ""  # "" uses the runbook URL

    def runbook(self, rule: str, labels: Mapping[str, str]) -> str:
        return render(self.runbook_url, rule, labels)

    def generator(self, rule: str, labels: Mapping[str, str]) -> str:
        return render(self.generator_url or self.runbook_url, rule, labels)

    def annotate(self, rule: str, labels: Mapping[str, str], annotations: Mapping[str, str]) -> Mapping[str, str]:
        """``annotations`` with this configuration's runbook (never one read back from a status)."""
        return frozen_labels({**annotations, RUNBOOK_ANNOTATION: self.runbook(rule, labels)})


def render(template: str, rule: str, labels: Mapping[str, str]) -> str:
    return _render(template, rule, tuple(labels.get(key, "") for key in PLACEHOLDERS))


@functools.lru_cache(maxsize=1 << 16)
def _render(template: str, rule: str, placed: tuple[str, ...]) -> str:
    """Memoised: every rule's condition for every service renders its runbook each tick, with the same labels."""
    values = dict(zip(PLACEHOLDERS, placed, strict=True))
    values["rule"] = rule.lower()
    return template.format_map({key: quote(value, safe="") for key, value in values.items()})


def template_problem(template: str) -> str | None:
    """Why ``template`` cannot be a link template, or None when it renders to a valid http(s) URL."""
    try:
        fields = [(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(template) if name is not None]
    except ValueError as exc:
        return f"not a URL template: {exc}"
    for name, spec, conv in fields:
        if name not in PLACEHOLDERS or spec or conv:
            given = name + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "")
            return f"unsupported placeholder {{{given}}} (allowed: {', '.join('{' + p + '}' for p in PLACEHOLDERS)})"
    sample = {"alertname": "SLOErrorBudgetBurn", "namespace": "ns", "service": "svc", "severity": "critical"}
    url = render(template, "SLOBurnRatePage", {**sample, "cluster": "c"})
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or _UNSAFE.search(url):
        return "must be an http:// or https:// URL without spaces, quotes or <>|"
    return None


def safe_url(url: str) -> bool:
    """An absolute http(s) URL with nothing a Slack link or a log line could misread."""
    return url.startswith(("http://", "https://")) and not _UNSAFE.search(url)


def with_links(conditions: Iterable[Condition], links: AlertLinks) -> tuple[Condition, ...]:
    """Each condition with the ``cluster`` label (when configured) and its ``runbook_url`` annotation."""
    result = []
    for cond in conditions:
        labels = {**cond.labels, CLUSTER_LABEL: links.cluster} if links.cluster else cond.labels
        annotations = links.annotate(cond.rule, labels, cond.annotations)
        result.append(
            Condition(cond.rule, cond.active, cond.severity, frozen_labels(labels), annotations, cond.for_seconds)
        )
    return tuple(result)
