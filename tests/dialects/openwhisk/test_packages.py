"""Packages: parameters under action parameters, bindings, publish across namespaces."""

from __future__ import annotations

from tests.support.server import SluiceServer, put_action

ECHO = "function main(args) { return args }"


def test_package_parameters_order_and_bindings(server: SluiceServer) -> None:
    with server.client() as c:
        r = c.put(
            server.ns_path("packages/colors"),
            json={"parameters": [{"key": "color", "value": "red"}, {"key": "size", "value": "S"}]},
        )
        assert r.status_code == 200
        assert r.json()["binding"] == {}
        put_action(c, "colors/show", ECHO, parameters=[{"key": "size", "value": "M"}])
        result = c.post(
            server.ns_path("actions/colors/show?blocking=true&result=true"), json={"shape": "o"}
        ).json()
        assert result == {"color": "red", "size": "M", "shape": "o"}
        record = c.post(server.ns_path("actions/colors/show?blocking=true")).json()
        path = next(a for a in record["annotations"] if a["key"] == "path")
        assert path["value"] == "guest/colors/show"

        bound = c.put(
            server.ns_path("packages/blue"),
            json={
                "binding": {"namespace": "guest", "name": "colors"},
                "parameters": [{"key": "color", "value": "blue"}],
            },
        )
        assert bound.status_code == 200
        via_binding = c.post(server.ns_path("actions/blue/show?blocking=true&result=true")).json()
        assert via_binding == {"color": "blue", "size": "M"}

        listed = c.get(server.ns_path("packages")).json()
        kinds = {p["name"]: p["binding"] for p in listed}
        assert kinds["colors"] is False
        assert kinds["blue"] == {
            "namespace": "guest",
            "name": "colors",
        }
        got = c.get("/api/v1/namespaces/_/packages/colors").json()
        assert [a["name"] for a in got["actions"]] == ["show"]

        assert c.delete(server.ns_path("packages/colors")).status_code == 409
        assert (
            "Package not empty (contains 1 entity)"
            in c.delete(server.ns_path("packages/colors")).json()["error"]
        )


def test_published_package_is_read_only_from_other_namespaces(server: SluiceServer) -> None:
    with server.client() as c:
        c.put(server.ns_path("packages/shared"), json={"publish": True})
        put_action(c, "shared/hello", "function main(a) { return {hi: a.name} }")
        c.put(server.ns_path("packages/secret"), json={})
        put_action(c, "secret/hidden", ECHO)
    key = server.admin("namespace", "create", "other-team")
    with server.client(auth=key) as o:
        assert o.get("/api/v1/namespaces/guest/packages/shared").status_code == 200
        r = o.post(
            "/api/v1/namespaces/guest/actions/shared/hello?blocking=true&result=true",
            json={"name": "other"},
        )
        assert r.status_code == 200
        assert r.json() == {"hi": "other"}
        assert o.get("/api/v1/namespaces/guest/packages/secret").status_code == 403
        assert o.post("/api/v1/namespaces/guest/actions/secret/hidden").status_code == 403
        assert (
            o.put("/api/v1/namespaces/guest/packages/shared?overwrite=true", json={}).status_code
            == 403
        )
        assert o.delete("/api/v1/namespaces/guest/actions/shared/hello").status_code == 403
        # the call is the caller's: it shows in their activations, not the owner's
        mine = o.get("/api/v1/namespaces/_/activations").json()
        assert any(a["name"] == "hello" for a in mine)
