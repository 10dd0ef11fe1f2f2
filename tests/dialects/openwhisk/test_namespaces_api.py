"""Namespaces: isolation between keys, `_`, the info routes the aio CLI calls first."""

from __future__ import annotations

from tests.support.server import SluiceServer, put_action


def test_api_info_and_namespace_list(server: SluiceServer) -> None:
    with server.client() as c:
        info = c.get("/api/v1").json()
        assert info["api_paths"] == ["/api/v1"]
        assert c.get("/api/v1/namespaces").json() == ["guest"]
        assert c.get("/runtime/namespaces/guest/logForwarding").status_code == 200


def test_other_namespace_is_out_of_reach(server: SluiceServer) -> None:
    key_b = server.admin("namespace", "create", "team-b")
    assert key_b.count(":") == 1
    assert len(key_b.split(":")[1]) == 64
    with server.client() as a:
        assert put_action(a, "private-a", "function main() { return {} }").status_code == 200
    with server.client(auth=key_b) as b:
        assert b.get("/api/v1/namespaces").json() == ["team-b"]
        assert b.get("/api/v1/namespaces/guest/actions").status_code == 403
        assert b.get("/api/v1/namespaces/guest/actions/private-a").status_code == 403
        assert b.post("/api/v1/namespaces/guest/actions/private-a").status_code == 403
        assert b.get("/api/v1/namespaces/_/actions/private-a").status_code == 404
        assert b.get("/api/v1/namespaces/team-b/actions").json() == []


def test_key_rotation(server: SluiceServer) -> None:
    old = server.admin("namespace", "create", "rotating")
    with server.client(auth=old) as c:
        assert c.get("/api/v1/namespaces").status_code == 200
    new = server.admin("namespace", "rotate-key", "rotating")
    assert new.split(":")[0] == old.split(":")[0]
    assert new != old
    with server.client(auth=old) as c:
        assert c.get("/api/v1/namespaces").status_code == 401
    with server.client(auth=new) as c:
        assert c.get("/api/v1/namespaces").json() == ["rotating"]


def test_keys_are_not_stored_in_clear(server: SluiceServer) -> None:
    raw = server.stored_bytes()
    secret = server.auth.split(":")[1].encode()
    assert secret not in raw
    assert secret not in server.log_path.read_bytes()
    # shown to its user on the first start, in the export lines
    assert f"AIO_RUNTIME_AUTH={server.auth}" in server.stdout_path.read_text()
    if not server.store_url:
        assert (server.data_dir / "sluice.db").stat().st_mode & 0o077 == 0
    assert server.client_config.stat().st_mode & 0o777 == 0o600
