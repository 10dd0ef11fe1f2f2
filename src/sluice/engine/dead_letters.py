"""Dead letters: async calls that failed for good, listed with why, redriven as new calls
(same function, parameters and callback) or dismissed."""

from __future__ import annotations

from dataclasses import replace

from sluice.engine.calls import Accepted, CallOptions, Calls
from sluice.errors import NotFound
from sluice.ids import CallId
from sluice.records import Call, DeadLetter
from sluice.store.base import Store

LIST_MAX = 1000


class DeadLetters:
    def __init__(self, store: Store, calls: Calls) -> None:
        self.store = store
        self.calls = calls

    async def list(
        self, namespace: str, path: str | None = None, limit: int = LIST_MAX
    ) -> list[tuple[DeadLetter, Call]]:
        found = []
        for letter in await self.store.dead_letters(namespace, path, limit):
            call = await self.store.get_call(letter.id)
            if call is not None:
                found.append((letter, call))
        return found

    async def redrive(self, namespace: str, call_id: CallId) -> Accepted:
        """Run the dead call again as a new call; the dead letter is then gone."""
        letter, call = await self._find(namespace, call_id)
        callback = await self.store.get_callback(call_id)
        owner = call.meta.owner or namespace
        # the engine sets the owner and package parameters again
        meta = replace(call.meta, redriven_from=call_id.uuid, owner=None, package_params={})
        accepted = await self.calls.invoke(
            namespace,
            owner,
            call.path,
            call.params,
            0,
            meta,
            None,
            # the call runs again as a child of the dead one: its trace shows both
            CallOptions(callback=callback.url if callback is not None else None, trace=call.trace),
        )
        await self.store.remove_dead_letter(namespace, letter.id)
        return accepted

    async def dismiss(self, namespace: str, call_id: CallId) -> None:
        if not await self.store.remove_dead_letter(namespace, call_id):
            raise NotFound("No such dead letter.")

    async def _find(self, namespace: str, call_id: CallId) -> tuple[DeadLetter, Call]:
        letters = await self.store.dead_letters(namespace, None, 1, call_id)
        call = await self.store.get_call(call_id)
        if not letters or call is None:
            raise NotFound("No such dead letter.")
        return letters[0], call
