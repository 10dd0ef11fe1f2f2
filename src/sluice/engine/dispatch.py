"""What the engine asks of the workers when it accepts a call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from sluice.ids import CallId
from sluice.records import Lease
from sluice.store.base import Candidate


class Dispatcher(Protocol):
    def reserve(self, candidate: Candidate) -> int | None:
        """Room to run `candidate` now, with nothing older waiting: capacity is reserved and
        the lease's expiry returned, so the call can be written straight into a lease.
        None when it must wait in the queue."""

    def release(self, candidate: Candidate) -> None:
        """Give back a reservation whose call was not written."""

    def run_leased(self, lease: Lease) -> None:
        """Run a call written straight into its lease."""

    def wake(self) -> None:
        """A call was queued: look at the queue."""

    def cancel(self, call_id: CallId) -> bool:
        """Stop the call if it runs here (it then ends as cancelled); False if it does not."""


class RemoteWorkers:
    """The dispatcher of a process that runs no calls itself: every call goes through the
    queue, and `tell` (when set) wakes the workers of the other process."""

    def __init__(self, tell: Callable[[], None] | None = None) -> None:
        self.tell = tell

    def reserve(self, candidate: Candidate) -> int | None:
        return None

    def release(self, candidate: Candidate) -> None:
        return None

    def run_leased(self, lease: Lease) -> None:
        raise RuntimeError("this process runs no calls")

    def wake(self) -> None:
        if self.tell is not None:
            self.tell()

    def cancel(self, call_id: CallId) -> bool:
        return False
