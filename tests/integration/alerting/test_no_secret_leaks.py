"""No secret reaches logs, stdout/stderr, the CR status or the problems surfaced as Events."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import pytest

from governor.alerting import AlertEngine
from governor.alerting.rules import AlertContext
from tests.integration.alerting.helpers import SECRETS, notifier, registry_for
from tests.integration.alerting.test_delivery import config
from tests.support.receivers import running_receiver
from tests.unit.alerting.factories import decision, observation, spec

pytestmark = pytest.mark.timeout(60)


async def test_secrets_never_appear_in_output(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    with running_receiver("slack") as slack, running_receiver("pagerduty") as pd, running_receiver("webhook") as hook:
        registry = await registry_for(config(pd=pd.url, hook=hook.url), slack_url=slack.url)
        sender, _ = notifier(registry)
        engine = AlertEngine(registry, sender)
        # Every error path: rejections, server errors, rate limits, and a receiver that is down.
        slack.script(400, 500)
        pd.script(503, (429, {"Retry-After": "0"}), 400)
        hook.go_down()
        s = spec(receivers=("slack", "pager", "hook", "ghost"), overrides={"RolloutFailed": "critical"})
        await sender.start()
        outputs = []
        try:
            status = None
            for _ in range(3):
                now = time.time()
                ctx = AlertContext(rollout_failed=True, rollout_message="swap failed")
                result = engine.evaluate(s, observation(now), decision(now), ctx, status, now)
                status = result.status
                outputs += [json.dumps(result.status), json.dumps(result.budget), repr(result)]
                outputs += [str(p) for p in result.problems]
                await asyncio.sleep(0.4)
            hook.come_up()
            async with asyncio.timeout(20):
                await sender.wait_idle()
            assert hook.accepted(), "the webhook got its notification after coming back"
        finally:
            await sender.stop()
        outputs += [repr(registry.receiver(n)) for n in ("slack", "pager", "hook")]
        outputs += [str(registry.error), repr(registry.config)]
    captured = capsys.readouterr()
    text = "\n".join([caplog.text, captured.out, captured.err, *outputs])
    assert "rejected" in caplog.text and "hook" in caplog.text  # the error paths really ran and logged
    assert any("ghost" in o for o in outputs)
    for secret in SECRETS:
        assert secret not in text
        assert secret.split("/")[0] not in text
