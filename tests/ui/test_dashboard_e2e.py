"""The dashboard end to end in Debian's Chromium (headless): sign in, deploy, invoke, watch a
call go queued -> running -> success live, open its logs, cancel a call, redrive a dead
letter; the triggers page with an alarm's next fire. Screenshots of each step are kept in
artifacts/ui/ (tests/ui/browser.py)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.dialects.openfaas.helpers import make_function, wait_status
from tests.support.calls import wait_call
from tests.support.server import SluiceServer, put_action, wait_for
from tests.ui.browser import chromium, screenshot, unavailable

pytestmark = pytest.mark.skipif(unavailable() is not None, reason=str(unavailable()))

#: sleeps `ms`, then answers; logs a line first
SLEEP_JS = """
function main(args) {
  console.log("sleeping " + (args.ms || 0) + " ms for " + (args.who || "nobody"));
  return new Promise(r => setTimeout(() => r({slept: args.ms || 0, who: args.who}), args.ms || 0));
}
"""
FAILING_JS = "function main() { throw new Error('always fails') }"
#: long enough that the dashboard's tick (0.4 s) sees each state more than once
BLOCKER_MS = 4000
WATCHED_MS = 2500
DEADLINE_MS = 90_000


@pytest.fixture(scope="module")
def one_at_a_time(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SluiceServer]:
    """A server running one call at a time: a call invoked behind another stays queued
    until that one ends, so its queued state lasts long enough to be seen."""
    instance = SluiceServer(tmp_path_factory.mktemp("ui"), extra_env={"SLUICE_MAX_RUNNING": "1"})
    try:
        yield instance.start()
    finally:
        instance.close()


def invoke(client: httpx.Client, server: SluiceServer, name: str, **params: Any) -> str:
    answer = client.post(server.ns_path(f"actions/{name}"), json=params)
    assert answer.status_code == 202, answer.text
    call_id: str = answer.json()["activationId"]
    return call_id


def test_the_dashboard_end_to_end(one_at_a_time: SluiceServer) -> None:
    server = one_at_a_time
    secret = server.auth.partition(":")[2]
    urls: list[str] = []
    with chromium() as context, server.client() as ow:
        page = context.new_page()
        page.on("request", lambda request: urls.append(request.url))
        page.set_default_timeout(DEADLINE_MS)

        # sign in: a wrong key is told, the right one lets in
        page.goto(server.url + "/ui")
        page.fill("#key", server.auth.partition(":")[0] + ":wrong")
        page.click("#sign-in button[type=submit]")
        page.wait_for_selector("#sign-in-error:text('authentication')")
        assert page.is_hidden("#nav")
        page.fill("#key", server.auth)
        screenshot(page, "01-sign-in")
        page.click("#sign-in button[type=submit]")
        page.wait_for_selector("#nav:not([hidden])")
        assert page.inner_text("#namespace") == "guest"

        # deploy (through the OpenWhisk API) and see the functions
        for name, code in (("ui-blocker", SLEEP_JS), ("ui-watched", SLEEP_JS)):
            assert put_action(ow, name, code).status_code == 200
        make_function(server, "ui-failing", FAILING_JS)
        page.goto(server.url + "/ui#/functions")
        page.wait_for_selector("#functions tr[data-function=ui-watched]")

        # invoke, and watch the call go queued -> running -> success without reloading
        page.goto(server.url + "/ui#/calls")
        page.wait_for_selector("#live:text('live')")
        invoke(ow, server, "ui-blocker", ms=BLOCKER_MS, who="blocker")
        watched = invoke(ow, server, "ui-watched", ms=WATCHED_MS, who="watched")
        row = f"#calls-body tr[data-id='{watched}']"
        page.wait_for_selector(f"{row}[data-state=queued]")
        screenshot(page, "02-queued")
        page.wait_for_selector(f"{row}[data-state=running]")
        screenshot(page, "03-running")
        page.wait_for_selector(f"{row}[data-state=success]")
        assert page.get_attribute(row, "data-seen") == "queued running success"
        page.wait_for_function(
            "document.querySelector('#queue-chart polyline').getAttribute('points')"
            ".split(' ').length > 2"
        )
        screenshot(page, "04-success-live")

        # its page: parameters, result, logs
        page.click(f"{row} a[href='#/call/{watched}']")
        page.wait_for_selector("#logs")
        assert "sleeping 2500 ms for watched" in page.inner_text("#logs")
        assert '"who": "watched"' in page.inner_text("#result")
        assert '"ms": 2500' in page.inner_text("#params")
        screenshot(page, "05-call-logs")

        # cancel a call waiting behind another
        page.goto(server.url + "/ui#/calls?function=ui-watched")
        page.wait_for_selector("#live:text('live')")
        invoke(ow, server, "ui-blocker", ms=BLOCKER_MS, who="blocker")
        doomed = invoke(ow, server, "ui-watched", ms=WATCHED_MS, who="doomed")
        page.click(f"#calls-body tr[data-id='{doomed}'][data-state=queued] button.cancel")
        page.wait_for_selector(f"#calls-body tr[data-id='{doomed}'][data-state=cancelled]")
        assert wait_call(ow, doomed)["state"] == "cancelled"
        screenshot(page, "06-cancelled")

        # a dead letter, redriven
        with httpx.Client(base_url=server.url, timeout=60) as anyone:
            dead = anyone.post("/async-function/ui-failing").headers["x-call-id"]
        assert wait_status(ow, dead)["status"] == "developer_error"
        dead_hex = dead.replace("-", "")
        page.goto(server.url + "/ui#/dead-letters")
        page.wait_for_selector(f"#dead-letters tr[data-id='{dead_hex}']")
        page.click(f"#dead-letters tr[data-id='{dead_hex}'] button.redrive")
        page.wait_for_selector(f"#dead-letters tr[data-id='{dead_hex}'] .redriven")
        screenshot(page, "07-redriven")
        again = page.get_attribute(f"#dead-letters tr[data-id='{dead_hex}'] .redriven a", "href")
        assert again is not None
        redriven = wait_call(ow, again.rpartition("/")[2])
        assert redriven["action"] == "guest/ui-failing"

        # triggers, rules and an alarm's next fire
        _alarm(ow, server)
        page.goto(server.url + "/ui#/triggers")
        page.wait_for_selector("#triggers tr[data-trigger=ui-nightly] .next-fire:text('Z')")
        page.wait_for_selector("#rules tr[data-rule=ui-nightly-rule]")
        screenshot(page, "08-triggers")

        # the functions page with calls behind it: the dashboard's picture
        page.goto(server.url + "/ui#/functions")
        page.wait_for_selector("#functions tr[data-function=ui-failing] .error-rate:text('%')")
        screenshot(page, "09-functions")
        page.goto(server.url + "/ui#/calls")
        page.wait_for_selector("#calls-body tr.call")
        wait_for(lambda: page.query_selector("#throughput-chart"), 30, "the charts")
        screenshot(page, "10-dashboard", full_page=True)

        # signing out ends the session: the page asks for a key again, even after a reload
        page.click("#sign-out")
        page.wait_for_selector("#sign-in:not([hidden])")
        page.reload()
        page.wait_for_selector("#sign-in:not([hidden])")
        assert page.is_hidden("#nav")

    assert urls, "the browser made no requests"
    assert not [url for url in urls if secret in url], "the key went into a URL"
    assert secret not in server.log_path.read_text()
    encoded = base64.b64encode(server.auth.encode()).decode()
    assert encoded not in server.log_path.read_text()


def _alarm(ow: httpx.Client, server: SluiceServer) -> None:
    annotations = [{"key": "feed", "value": "/whisk.system/alarms/alarm"}]
    made = ow.put(server.ns_path("triggers/ui-nightly"), json={"annotations": annotations})
    assert made.status_code == 200, made.text
    rule = {"trigger": "/guest/ui-nightly", "action": "/guest/ui-watched"}
    assert ow.put(server.ns_path("rules/ui-nightly-rule"), json=rule).status_code == 200
    body = {"lifecycleEvent": "CREATE", "triggerName": "/guest/ui-nightly", "cron": "0 3 * * *"}
    created = ow.post(
        "/api/v1/namespaces/whisk.system/actions/alarms/alarm?blocking=true", json=body
    )
    assert created.status_code == 200, created.text
