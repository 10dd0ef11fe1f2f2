"""An Fn function may ask for less network than the server's: `network: none` in its
func.yaml (or its annotations) is what its processes reach; the host's is refused unless the
operator allows it."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.dialects.fn.helpers import deploy, fn_client, v2_app
from tests.runtime.helpers import zip_b64
from tests.support.server import SluiceServer

from sluice.cli.fn.funcyaml import FuncFileError, load

REACH_API = """import os, socket, sys
port = int(os.environ["API_PORT"])
try:
    socket.create_connection(("127.0.0.1", port), timeout=3).close()
    print("reached")
except OSError as exc:
    print(type(exc).__name__)
"""


def test_a_function_without_network_reaches_not_even_the_api(server: SluiceServer) -> None:
    with fn_client(server) as client:
        assert client.post("/v1/apps", json={"app": {"name": "netapp"}}).status_code == 200
        config = {"API_PORT": str(server.port)}
        deploy(client, "netapp", "/open", REACH_API, config=config)
        deploy(
            client, "netapp", "/closed", REACH_API, config=config, annotations={"network": "none"}
        )
        assert client.post("/r/netapp/open").text.strip() == "reached"
        assert client.post("/r/netapp/closed").text.strip() == "ConnectionRefusedError"


def test_the_hosts_network_is_refused(server: SluiceServer) -> None:
    with fn_client(server) as client:
        app = v2_app(client, "netapp2")
        refused = client.post(
            "/v2/fns",
            json={
                "name": "f",
                "app_id": app["id"],
                "image": "f:0.0.1",
                "runtime": "python",
                "code": zip_b64({"func.py": REACH_API}),
                "annotations": {"network": "host"},
            },
        )
    assert refused.status_code == 400, refused.text
    assert "SLUICE_FUNCTION_NETWORK_ALLOW_HOST" in refused.text


def test_func_yaml_names_the_network(tmp_path: Path) -> None:
    path = tmp_path / "func.yaml"
    path.write_text("name: f\nversion: 0.0.1\nruntime: python\nnetwork: none\n")
    assert load(path).annotations == {"network": "none"}
    path.write_text("name: f\nruntime: python\nannotations:\n  network: api-only\n  x: 1\n")
    assert load(path).annotations == {"network": "api-only", "x": 1}
    path.write_text("name: f\nruntime: python\nnetwork: lan\n")
    with pytest.raises(FuncFileError, match="field 'network' is 'lan'"):
        load(path)
