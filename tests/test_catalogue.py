"""The catalogue of seams (sluice/catalogue.py): every implementation it lists exists and is
named in docs/architecture.md, and the settings build the delivery parts it says."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from sluice.catalogue import SEAMS, Seam, build_backends, build_transport
from sluice.config import Settings
from sluice.notify.events import NatsEvents
from sluice.notify.local import LocalEvents
from sluice.queue.jetstream import JetStreamQueue

DOC = Path(__file__).resolve().parent.parent / "docs" / "architecture.md"
PG_URL = "postgresql://u:p@db:5432/sluice"


def _section() -> str:
    text = DOC.read_text()
    start = text.index("## Seams and their implementations")
    return text[start : text.index("\n## ", start + 1)]


def _find(dotted: str) -> object:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize("seam", SEAMS, ids=[seam.name for seam in SEAMS])
def test_every_listed_implementation_exists_and_is_documented(seam: Seam) -> None:
    section = _section()
    for dotted in (seam.protocol, *seam.implementations.values()):
        assert isinstance(_find(dotted), type), dotted
        assert f"`{dotted.rpartition('.')[2]}`" in section, f"{dotted} is not in the docs"


@pytest.mark.parametrize("store", ["", PG_URL])
def test_jetstream_goes_in_front_of_either_stores_ledger(tmp_path: Path, store: str) -> None:
    settings = Settings(data_dir=tmp_path, store=store, queue="nats://127.0.0.1:4222")
    _store, ledger = build_backends(settings)
    transport = build_transport(settings, ledger)
    assert isinstance(transport.queue, JetStreamQueue)
    assert transport.jetstream is transport.queue
    assert transport.queue.ledger is ledger
    assert isinstance(transport.events, NatsEvents)
    assert transport.local is None


def test_the_embedded_queue_is_the_ledger_told_of_over_a_socket(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, worker_process=True)
    _store, ledger = build_backends(settings)
    transport = build_transport(settings, ledger)
    assert transport.queue is ledger
    assert transport.jetstream is None
    assert isinstance(transport.local, LocalEvents)
    assert transport.events is transport.local
    alone = build_transport(Settings(data_dir=tmp_path, worker_process=False), ledger)
    assert (alone.queue, alone.events, alone.local) == (ledger, None, None)
