"""The PostgreSQL call ledger as JetStream's ledger: `claim_ids` leases the delivered calls
that may run now and tells, for the others, whether they are done with or due later."""

from __future__ import annotations

from collections.abc import Sequence

from sluice.ids import CallId
from sluice.queue.base import Claim
from sluice.queue.postgres import PostgresQueue
from sluice.records import CallState


class PostgresLedger(PostgresQueue):
    async def claim_ids(self, ids: Sequence[CallId], now_ms: int, lease_ms: int) -> Claim:
        rows = await self.db.fetchall(
            "SELECT id, state, visible_at, lease_until FROM calls WHERE id = ANY(%s)",
            ([call_id.raw for call_id in ids],),
            durable=False,
        )
        found = {bytes(row[0]): row for row in rows}
        out = Claim()
        runnable = []
        for call_id in ids:
            row = found.get(call_id.raw)
            if row is None or CallState(row[1]).terminal:
                out.finished.append(call_id)
            elif row[1] == CallState.QUEUED and row[2] <= now_ms:
                runnable.append(call_id)
            else:
                out.later[call_id] = row[2] if row[1] == CallState.QUEUED else row[3] or now_ms
        out.leases.extend(await self.claim(runnable, now_ms, lease_ms))
        leased = {lease.id for lease in out.leases}
        for call_id in runnable:  # taken by another worker meanwhile
            if call_id not in leased:
                out.later[call_id] = now_ms + lease_ms
        return out
