from sluice.ids import CallId
from sluice.store.base import Candidate
from sluice.worker.capacity import Capacity


def _c(namespace: str, memory: int) -> Candidate:
    return Candidate(CallId.new(), namespace, memory)


def test_memory_pool_bounds_running_calls() -> None:
    cap = Capacity(memory_mb=1024, per_namespace=10)
    assert cap.admit(_c("a", 512))
    assert cap.admit(_c("b", 512))
    assert not cap.admit(_c("c", 128))
    cap.release(_c("a", 512))
    assert cap.admit(_c("c", 256))
    assert cap.used_mb == 768


def test_per_namespace_cap_leaves_room_for_others() -> None:
    cap = Capacity(memory_mb=10_000, per_namespace=2)
    assert cap.admit(_c("busy", 128))
    assert cap.admit(_c("busy", 128))
    assert not cap.admit(_c("busy", 128))
    assert cap.admit(_c("quiet", 128))
    cap.release(_c("busy", 128))
    assert cap.admit(_c("busy", 128))
    assert cap.active == 3


def _f(path: str, queue: str = "", limit: int = 0) -> Candidate:
    return Candidate(CallId.new(), "ns", 128, path, queue, limit)


def test_a_named_queue_runs_its_cap_and_leaves_the_rest() -> None:
    cap = Capacity(memory_mb=10_000, per_namespace=100, queues={"slow": 2}, queue_default=1)
    assert cap.admit(_f("a", "slow"))
    assert cap.admit(_f("b", "slow"))
    assert not cap.admit(_f("c", "slow"))
    assert cap.admit(_f("d", "batch"))
    assert not cap.admit(_f("e", "batch"))
    assert cap.admit(_f("fast"))
    cap.release(_f("a", "slow"))
    assert cap.admit(_f("c", "slow"))


def test_a_function_cap_and_a_global_cap() -> None:
    cap = Capacity(memory_mb=10_000, per_namespace=100, max_running=3)
    assert cap.admit(_f("one", limit=1))
    assert not cap.admit(_f("one", limit=1))
    assert cap.admit(_f("two"))
    assert cap.admit(_f("three"))
    assert cap.full
    assert not cap.admit(_f("four"))
    cap.release(_f("one", limit=1))
    assert cap.admit(_f("one", limit=1))


def _shared(concurrency: int, memory: int = 256, path: str = "sleeper") -> Candidate:
    return Candidate(CallId.new(), "ns", memory, path, concurrency=concurrency)


def test_a_process_serving_several_calls_counts_its_memory_once() -> None:
    cap = Capacity(memory_mb=1024, per_namespace=1000)
    for _ in range(30):  # three processes of ten calls
        assert cap.admit(_shared(10))
    assert cap.used_mb == 768
    assert not cap.full  # the third process has no room, but memory is left
    assert cap.admit(_shared(10))  # a fourth process
    assert cap.used_mb == 1024
    assert cap.full is False  # that process has room for nine more calls
    for _ in range(9):
        assert cap.admit(_shared(10))
    assert cap.full
    assert not cap.admit(_shared(10))
    assert not cap.admit(_shared(1, 128, "other"))
    for _ in range(10):
        cap.release(_shared(10))
    assert cap.used_mb == 768  # ten calls ended: one process less
    cap.release(_shared(10))
    assert cap.used_mb == 768
    assert cap.admit(_shared(1, 256, "other"))


def test_a_sequence_takes_no_room_from_the_steps_it_waits_for() -> None:
    cap = Capacity(memory_mb=256, per_namespace=1, max_running=1)
    sequences = [_c("ns", 0) for _ in range(5)]  # sequences' calls run no code of their own
    assert all(cap.admit(s) for s in sequences)
    assert cap.admit(_c("ns", 256))  # the step one of them waits for still runs
    for s in sequences:
        cap.release(s)
    assert cap.active == 1
    assert cap.used_mb == 256
