"""Where a callback may go: loopback, link-local (the metadata service), private and other
non-public addresses are refused at submit with OpenFaaS's 400 unless SLUICE_CALLBACK_ALLOW
lists them; a host name is checked by its addresses when the call is accepted and again when
the callback is sent, and the request goes to the address checked then (a name that rebinds
to a refused address in between gets nothing sent); redirects are not followed; Sluice's own
function routes stay callable although they are on loopback."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from tests.dialects.openfaas.helpers import make_function, open_client, wait_status
from tests.support.dns import DnsServer
from tests.support.listener import LOOPBACK_CALLBACKS, Listener
from tests.support.server import SluiceServer, free_port, wait_for

HELLO_JS = """
function main(args) {
  return {headers: {"content-type": "text/plain"}, body: "hello " + (args.name || "world")};
}
"""
SHOUT_JS = """
function main(args) {
  return {headers: {"content-type": "text/plain"}, body: (args.__ow_body || "").toUpperCase()};
}
"""


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SluiceServer]:
    """A server with the default policy: no SLUICE_CALLBACK_ALLOW."""
    instance = SluiceServer(tmp_path_factory.mktemp("strict"))
    try:
        instance.start()
        make_function(instance, "hello", HELLO_JS)
        make_function(instance, "shout", SHOUT_JS)
        yield instance
    finally:
        instance.close()


def _refused(server: SluiceServer, url: str) -> str:
    with open_client(server) as client:
        answer = client.post("/async-function/hello", headers={"X-Callback-Url": url})
    assert answer.status_code == 400, (url, answer.status_code, answer.text)
    assert answer.headers["content-type"].startswith("text/plain")
    assert answer.text.startswith(f"Invalid X-Callback-Url '{url}'")
    assert "SLUICE_CALLBACK_ALLOW" in answer.text
    return answer.text


LINK_LOCAL = "is a link-local address"
PRIVATE = "is a private or reserved address"
LOOPBACK = "is a loopback address"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://169.254.169.254/latest/meta-data/", LINK_LOCAL),
        ("http://[fd00:ec2::254]/latest/meta-data/", PRIVATE),
        ("http://10.1.2.3/hook", PRIVATE),
        ("http://192.168.1.1/", PRIVATE),
        ("http://172.16.0.1/", PRIVATE),
        ("http://100.64.0.1/", PRIVATE),
        ("http://[fc00::1]/", PRIVATE),
        ("http://[fe80::1]/", LINK_LOCAL),
        ("http://0.0.0.0:6379/", "is the unspecified address"),
        ("http://224.0.0.1/", "is a multicast address"),
        ("http://255.255.255.255/", PRIVATE),
        ("http://[::1]:5432/", LOOPBACK),
        ("http://[::ffff:127.0.0.1]:4222/", f"{LOOPBACK} (127.0.0.1 in IPv6 form)"),
        ("http://[::ffff:169.254.169.254]/", f"{LINK_LOCAL} (169.254.169.254 in IPv6 form)"),
    ],
)
def test_non_public_addresses_are_refused_at_submit(
    strict: SluiceServer, url: str, says: str
) -> None:
    assert says in _refused(strict, url)


def test_loopback_service_ports_and_the_rest_of_the_own_api_are_refused(
    strict: SluiceServer,
) -> None:
    for url in (
        "http://127.0.0.1:6379/",  # a Redis port
        "http://127.0.0.1:4222/",  # NATS
        f"http://127.0.0.1:{strict.port}/system/functions",  # Sluice, but not a function route
        f"http://127.0.0.1:{strict.port}/function/x/../../system/functions",
        f"http://127.0.0.1:{free_port()}/function/hello",  # a function route, another port
    ):
        assert LOOPBACK in _refused(strict, url)


def test_a_name_that_resolves_to_loopback_is_refused(strict: SluiceServer) -> None:
    text = _refused(strict, "http://localhost:6379/")
    assert "its host 'localhost'" in text
    assert "loopback" in text


def test_nothing_refused_reaches_the_store(strict: SluiceServer) -> None:
    with strict.client() as owner:
        before = owner.get(strict.ns_path("activations"), params={"name": "hello"}).json()
    _refused(strict, "http://169.254.169.254/latest/meta-data/")
    with strict.client() as owner:
        after = owner.get(strict.ns_path("activations"), params={"name": "hello"}).json()
    assert after == before


@pytest.mark.parametrize("route", ["function", "async-function"])
def test_a_callback_to_another_function_goes_through_its_own_route(
    strict: SluiceServer, route: str
) -> None:
    with open_client(strict) as client, strict.client() as owner:
        answer = client.post(
            "/async-function/hello?name=chain",
            headers={"X-Callback-Url": f"{strict.url}/{route}/shout"},
        )
        assert answer.status_code == 202, answer.text
        first = wait_status(owner, answer.headers["x-call-id"])
        delivered = wait_for(
            lambda: _callback_settled(owner, first["callId"]), 30, "the callback settled"
        )

        def shouted() -> Any:
            listed = owner.get(strict.ns_path("activations"), params={"name": "shout", "docs": 1})
            found = [a for a in listed.json() if a["response"]["result"]["body"] == "HELLO CHAIN"]
            return found

        wait_for(shouted, 30, "the shout function's activation")
    assert delivered["status"] == "delivered"


def _callback_settled(owner: Any, call_id: str) -> dict[str, Any] | None:
    callback: dict[str, Any] = owner.get(f"/async-function/{call_id}").json().get("callback")
    return callback if callback and callback["status"] != "pending" else None


@pytest.fixture
def dns() -> Iterator[DnsServer]:
    with DnsServer() as server:
        yield server


def _pair(first: str, second: str) -> tuple[Listener, Listener]:
    """Two listeners on one port, at two loopback addresses."""
    for _ in range(20):
        one = Listener(host=first)
        try:
            other = Listener(host=second, port=one.port)
        except OSError:
            one.server.server_close()
            continue
        return one, other
    raise AssertionError("no port free on both addresses")


def _rebinding_server(new_server: Callable[..., SluiceServer], dns: DnsServer) -> SluiceServer:
    server = new_server(
        SLUICE_CALLBACK_ALLOW="127.0.0.2",
        SLUICE_CALLBACK_RESOLVER=dns.address,
        SLUICE_CALLBACK_ATTEMPTS="1",
    ).start()
    make_function(server, "hello", HELLO_JS)
    return server


def test_a_name_is_sent_to_the_address_it_was_checked_at(
    new_server: Callable[..., SluiceServer], dns: DnsServer
) -> None:
    server = _rebinding_server(new_server, dns)
    dns.answer("hooks.test", ["127.0.0.2"])
    allowed, other = _pair("127.0.0.2", "127.0.0.1")
    with allowed, other, open_client(server) as client:
        url = f"http://hooks.test:{allowed.port}/done"
        answer = client.post("/async-function/hello", headers={"X-Callback-Url": url})
        assert answer.status_code == 202, answer.text
        (got,) = allowed.wait(1)
    assert got.path == "/done"
    assert got.headers["host"] == f"hooks.test:{allowed.port}"
    assert got.body == b"hello world"
    assert other.received == []
    assert dns.queries["hooks.test"] == 2  # at submit, and again at send


@pytest.mark.parametrize(("certified", "delivered"), [("secure.test", True), ("other.test", False)])
def test_https_to_a_name_checks_the_certificate_against_the_name(
    new_server: Callable[..., SluiceServer],
    dns: DnsServer,
    tmp_path: Path,
    certified: str,
    delivered: bool,
) -> None:
    """The request goes to the checked address, and TLS still names the host: the
    receiver's certificate must be for the URL's name."""
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert(certified).configure_cert(tls)
    server = new_server(
        SLUICE_CALLBACK_ALLOW="127.0.0.2",
        SLUICE_CALLBACK_RESOLVER=dns.address,
        SLUICE_CALLBACK_ATTEMPTS="1",
        SSL_CERT_FILE=str(ca_file),
    ).start()
    make_function(server, "hello", HELLO_JS)
    dns.answer("secure.test", ["127.0.0.2"])
    with (
        Listener(host="127.0.0.2", tls=tls) as receiver,
        open_client(server) as client,
        server.client() as owner,
    ):
        url = f"https://secure.test:{receiver.port}/done"
        answer = client.post("/async-function/hello", headers={"X-Callback-Url": url})
        assert answer.status_code == 202, answer.text
        call_id = answer.headers["x-call-id"]
        callback = wait_for(lambda: _callback_settled(owner, call_id), 30, "the callback settled")
    if delivered:
        assert callback["status"] == "delivered"
        (got,) = receiver.received
        assert got.headers["host"] == f"secure.test:{receiver.port}"
        assert got.body == b"hello world"
    else:
        assert callback["status"] == "failed"
        assert "CERTIFICATE_VERIFY_FAILED" in callback["lastError"]
        assert receiver.received == []


def test_a_name_that_rebinds_to_a_refused_address_gets_nothing(
    new_server: Callable[..., SluiceServer], dns: DnsServer
) -> None:
    server = _rebinding_server(new_server, dns)
    # allowed when the call is accepted, loopback when its callback is sent
    dns.answer("rebind.test", ["127.0.0.2"], ["127.0.0.1"])
    allowed, refused = _pair("127.0.0.2", "127.0.0.1")
    with allowed, refused, open_client(server) as client, server.client() as owner:
        url = f"http://rebind.test:{allowed.port}/"
        answer = client.post("/async-function/hello", headers={"X-Callback-Url": url})
        assert answer.status_code == 202, answer.text
        call_id = answer.headers["x-call-id"]
        callback = wait_for(lambda: _callback_settled(owner, call_id), 30, "the callback settled")
    assert callback["status"] == "failed"
    assert callback["attempts"] == 1
    assert "refused" in callback["lastError"]
    assert "(127.0.0.1) is a loopback address" in callback["lastError"]
    assert allowed.received == []
    assert refused.received == []


def test_a_name_that_resolves_to_loopback_is_refused_at_submit(
    new_server: Callable[..., SluiceServer], dns: DnsServer
) -> None:
    server = _rebinding_server(new_server, dns)
    dns.answer("inside.test", ["127.0.0.1"])
    dns.answer("mixed.test", ["127.0.0.2", "169.254.169.254"])
    assert "its host 'inside.test' (127.0.0.1) is a loopback" in _refused(
        server, "http://inside.test/"
    )
    # one refused answer among allowed ones refuses the name
    assert "(169.254.169.254) is a link-local" in _refused(server, "http://mixed.test/")
    with open_client(server) as client:
        unknown = client.post(
            "/async-function/hello", headers={"X-Callback-Url": "http://unknown.test/"}
        )
    assert unknown.status_code == 400
    assert "cannot be resolved" in unknown.text


def test_a_redirect_is_not_followed(new_server: Callable[..., SluiceServer]) -> None:
    server = new_server(**LOOPBACK_CALLBACKS, SLUICE_CALLBACK_ATTEMPTS="1").start()
    make_function(server, "hello", HELLO_JS)
    with Listener(host="127.0.0.3") as target:
        with (
            Listener(statuses=[307], location=target.url + "/metadata") as redirecting,
            open_client(server) as client,
            server.client() as owner,
        ):
            answer = client.post(
                "/async-function/hello", headers={"X-Callback-Url": redirecting.url}
            )
            call_id = answer.headers["x-call-id"]
            callback = wait_for(
                lambda: _callback_settled(owner, call_id), 30, "the callback settled"
            )
        assert len(redirecting.received) == 1
        assert target.received == []
    assert callback["status"] == "failed"
    assert callback["lastStatus"] == 307
