"""Request bodies for each receiver kind, built purely from notifications.

* Alertmanager ``POST /api/v2/alerts``: a list of alerts; a firing alert carries an
  ``endsAt`` a few resend intervals ahead (Alertmanager resolves it by itself if Governor
  stops re-sending), a resolved one its resolve time; ``generatorURL`` links its source.
* Generic webhook: the Alertmanager webhook payload, version ``"4"``.
* Slack incoming webhook: ``text`` (the fallback) plus ``blocks``. Every value is escaped
  for mrkdwn (``&``, ``<``, ``>``), so a summary or label holding ``<!channel>`` or
  ``<https://evil|click>`` shows as text, never as a mention or a disguised link.
* PagerDuty Events v2: one event per alert, ``dedup_key`` = ``governor-<fingerprint>``,
  with the runbook and source as ``links``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from governor.alerting.links import RUNBOOK_ANNOTATION, safe_url
from governor.alerting.types import Event, Notification, Severity, rfc3339

PAGERDUTY_SEVERITY: Mapping[Severity, str] = {
    Severity.CRITICAL: "critical",
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFO: "info",
}
_EMOJI = {Event.FIRING: ":rotating_light:", Event.RESOLVED: ":white_check_mark:"}


def dedup_key(note: Notification) -> str:
    """The PagerDuty incident key: stable for the alert across trigger and resolve."""
    return f"governor-{note.fingerprint}"


def _ends_at(note: Notification, now: float, ttl: float) -> float:
    return note.ends_at if note.ends_at is not None else now + ttl


def alertmanager_alerts(notes: Sequence[Notification], now: float, ttl: float) -> list[dict[str, Any]]:
    alerts = []
    for n in notes:
        alert = {
            "labels": dict(n.labels),
            "annotations": dict(n.annotations),
            "startsAt": rfc3339(n.starts_at),
            "endsAt": rfc3339(_ends_at(n, now, ttl)),
        }
        if safe_url(n.generator_url):  # Alertmanager refuses the whole request for an invalid URL
            alert["generatorURL"] = n.generator_url
        alerts.append(alert)
    return alerts


def _common(maps: list[Mapping[str, str]]) -> dict[str, str]:
    if not maps:
        return {}
    first = maps[0]
    return {k: v for k, v in first.items() if all(m.get(k) == v for m in maps[1:])}


def webhook_v4(receiver: str, notes: Sequence[Notification], group_by: Sequence[str]) -> dict[str, Any]:
    firing = any(n.event == Event.FIRING for n in notes)
    first = notes[0].labels if notes else {}
    return {
        "version": "4",
        "groupKey": notes[0].group_key if notes else receiver,
        "truncatedAlerts": 0,
        "status": "firing" if firing else "resolved",
        "receiver": receiver,
        "groupLabels": {k: first.get(k, "") for k in group_by if k != "..."},
        "commonLabels": _common([n.labels for n in notes]),
        "commonAnnotations": _common([n.annotations for n in notes]),
        "externalURL": "",
        "alerts": [
            {
                "status": n.event.value,
                "labels": dict(n.labels),
                "annotations": dict(n.annotations),
                "startsAt": rfc3339(n.starts_at),
                "endsAt": rfc3339(n.ends_at) if n.ends_at is not None else "0001-01-01T00:00:00Z",
                "generatorURL": n.generator_url,
                "fingerprint": n.fingerprint,
            }
            for n in notes
        ],
    }


def mrkdwn(text: str) -> str:
    """``text`` as literal Slack mrkdwn: the three control characters escaped, nothing else touched."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_link(url: str, label: str) -> str:
    return f" <{url.replace('&', '&amp;')}|{label}>" if safe_url(url) else ""


def _line(n: Notification) -> str:
    where = "/".join(v for v in (n.labels.get(k) for k in ("cluster", "namespace", "service")) if v)
    state = "RESOLVED" if n.event == Event.RESOLVED else n.severity.value.upper()
    code = mrkdwn(where.replace("`", "'"))  # a backtick in a value must not end the code span
    head = f"{_EMOJI[n.event]} *[{state}] {mrkdwn(n.labels.get('alertname', ''))}* `{code}`"
    summary = mrkdwn(n.annotations.get("summary", ""))[:2500]  # leaves the runbook link within a block's 3000
    return f"{head} {summary}{_slack_link(n.annotations.get(RUNBOOK_ANNOTATION, ''), 'runbook')}"


def slack_message(notes: Sequence[Notification]) -> dict[str, Any]:
    lines = [_line(n) for n in notes]
    text = "\n".join(lines)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": line[:3000]}} for line in lines[:50]]
    return {"text": text[:40000], "blocks": blocks, "unfurl_links": False, "unfurl_media": False}


def pagerduty_event(note: Notification, routing_key: str, now: float) -> dict[str, Any]:
    event: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": "resolve" if note.event == Event.RESOLVED else "trigger",
        "dedup_key": dedup_key(note),
    }
    if note.event == Event.FIRING:
        where = f"{note.labels.get('namespace', '')}/{note.labels.get('service', '')}"
        summary = f"[{where}] {note.labels.get('alertname', '')}: {note.annotations.get('summary', '')}"
        event["payload"] = {
            "summary": summary[:1024],
            "source": where,
            "severity": PAGERDUTY_SEVERITY[note.severity],
            "timestamp": rfc3339(note.starts_at),
            "component": note.labels.get("service", ""),
            "group": note.labels.get("namespace", ""),
            "class": note.labels.get("alertname", ""),
            "custom_details": {"labels": dict(note.labels), "annotations": dict(note.annotations)},
        }
        event["links"] = _pagerduty_links(note)
    return event


def _pagerduty_links(note: Notification) -> list[dict[str, str]]:
    runbook = note.annotations.get(RUNBOOK_ANNOTATION, "")
    links = [{"href": runbook, "text": "Runbook"}] if safe_url(runbook) else []
    if safe_url(note.generator_url) and note.generator_url != runbook:
        links.append({"href": note.generator_url, "text": "Source"})
    return links
