import hashlib

from sluice.ids import CallId


def test_three_spellings_name_one_call() -> None:
    call_id = CallId.new()
    assert len(call_id.hex) == 32
    assert len(call_id.ulid) == 26
    for text in (call_id.hex, call_id.uuid, call_id.ulid, call_id.ulid.lower()):
        assert CallId.parse(text) == call_id


def test_ids_are_time_ordered() -> None:
    first = CallId.new()
    later = [CallId.new() for _ in range(50)]
    assert all(c.timestamp_ms >= first.timestamp_ms for c in later)


def test_garbage_is_not_an_id() -> None:
    for text in ("", "abc", "g" * 32, "0" * 31, "not-a-uuid-at-all-not-a-uuid-at-all"):
        assert CallId.parse(text) is None


def test_a_derived_id_is_the_same_for_the_same_slot_and_unguessable_without_the_secret() -> None:
    slot = 1_795_430_400_000
    one = CallId.derived(slot, "guest/tick/1795430400000", b"platform secret")
    assert one == CallId.derived(slot, "guest/tick/1795430400000", b"platform secret")
    assert one.timestamp_ms == slot
    assert one != CallId.derived(slot, "guest/tick/1795430400000", b"another secret")
    assert one != CallId.derived(slot, "guest/tock/1795430400000", b"platform secret")
    # what it was derived as before: the schedule's name and slot alone
    unkeyed = hashlib.sha256(b"guest/tick/1795430400000").digest()[:10]
    assert one.raw[6:] != unkeyed
