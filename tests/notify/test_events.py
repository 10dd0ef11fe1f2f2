"""Call ends told across processes on NATS: a waiter on one host wakes when its call ends
on another, and that host's listeners (the callback sender) hear of it too."""

from __future__ import annotations

import asyncio

from sluice.ids import CallId
from sluice.notify.events import NatsEvents
from sluice.notify.waiters import Waiters
from sluice.queue.nats_connect import connect


def test_a_call_ended_on_one_host_wakes_a_waiter_on_another(nats_url: str) -> None:
    async def scenario() -> None:
        prefix = f"t{CallId.new().hex}"
        heard: list[CallId] = []
        hosts = [NatsEvents(await connect(nats_url, name), prefix) for name in ("api", "worker")]
        api = Waiters(listeners=[heard.append], broadcast=hosts[0].publish)
        worker = Waiters(broadcast=hosts[1].publish)
        await hosts[0].start(api)
        await hosts[1].start(worker)
        call_id = CallId.new()
        future = api.register(call_id)
        await hosts[0].nc.flush()  # the subscription is in place before the call can end
        worker.done(call_id)
        assert await api.wait(call_id, future, 10)
        assert heard == [call_id]
        for host in hosts:
            await host.stop()
            await host.nc.close()

    asyncio.run(scenario())
