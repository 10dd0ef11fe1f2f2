"""Reading a real server's /metrics with prometheus_client's own parser."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

#: (sample name, its labels) -> value
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(client: httpx.Client) -> Samples:
    answer = client.get("/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples: Samples = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the samples named `name` whose labels include `labels` (0 when none)."""
    wanted = set(labels.items())
    return sum(v for (n, found), v in samples.items() if n == name and wanted <= found)


def names(client: httpx.Client) -> set[str]:
    """Every metric family's name and every sample's name (x, x_total, x_bucket...) that a
    scrape shows, families without samples yet included."""
    answer = client.get("/metrics")
    assert answer.status_code == 200, answer.text
    found: set[str] = set()
    for family in text_string_to_metric_families(answer.text):
        found.add(family.name)
        found.update(sample.name for sample in family.samples)
    return found
