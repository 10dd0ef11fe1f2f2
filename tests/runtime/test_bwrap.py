"""The runtime inside the bubblewrap sandbox the server picks when it works."""

from __future__ import annotations

from pathlib import Path

from sluice.runtime.base import Outcome
from sluice.runtime.config import RuntimeConfig
from sluice.runtime.pool import ProcessRuntime
from sluice.sandbox.bwrap import BwrapSandbox
from tests.runtime.helpers import action, pid_gone, request, run, wait_until
from tests.support.bwrap import BWRAP, needs_bwrap

pytestmark = needs_bwrap

CODE = """
const fs = require('fs');
let calls = 0;
exports.main = (p) => {
  calls++;
  console.log('call', calls);
  if (p.spin) while (true) {}
  if (p.exit) process.exit(2);
  if (p.grow) { const kept = []; for (;;) kept.push(Buffer.alloc(16 << 20, 1)); }
  return {calls, secret: fs.existsSync(p.secret), home: process.env.HOME};
};
"""


def test_runtime_in_bubblewrap(tmp_path: Path) -> None:
    data = tmp_path / "data"
    secret = data / "secret"
    data.mkdir()
    secret.write_text("s")
    assert BWRAP is not None
    sandbox = BwrapSandbox(BWRAP, hidden=[data])

    async def scenario() -> None:
        config = RuntimeConfig(work_dir=data / "work", stem_cells=1)
        runtime = ProcessRuntime(config, sandbox)
        await runtime.start()
        try:
            snapshot = runtime.pool.snapshot
            await wait_until(lambda: snapshot().stems.get("nodejs:20"), "a stem cell")
            code = action(CODE)
            first = await runtime.run(request(code, {"secret": str(secret)}))
            assert first.outcome is Outcome.SUCCESS, first
            assert isinstance(first.result, dict)
            assert first.result["secret"] is False
            assert Path(first.result["home"]).parent == data / "work"
            assert [line.partition(": ")[2] for line in first.logs] == ["call 1"]
            second = await runtime.run(request(code, {"secret": str(secret)}))
            assert isinstance(second.result, dict)
            assert second.result["calls"] == 2
            assert second.init_ms is None

            busy = snapshot().idle[code.process_key]
            stuck = await runtime.run(request(code, {"spin": True}, timeout_ms=300))
            assert stuck.outcome is Outcome.TIMEOUT
            await wait_until(lambda: pid_gone(busy[0]), "the sandbox to end")
            crash = await runtime.run(request(code, {"exit": True}))
            assert crash.result == {
                "error": "The action did not produce a valid response and exited unexpectedly."
            }
            grow = await runtime.run(request(action(CODE, memory_mb=128), {"grow": True}))
            assert grow.result == {"error": "The action exceeded its memory limit of 128 MB."}
        finally:
            await runtime.close()
        assert list((data / "work").iterdir()) == []

    run(scenario())
