"""Where builds fetch packages from, so that a build's sandbox can reach them and nothing else
of the host's networks.

A build runs code the function's author chose (npm's lifecycle scripts, a package's
setup.py), so it runs on the egress network like a function: the internet, no loopback, no
private address. Package registries on addresses egress refuses (a mirror on the LAN, a
proxy on a private address) are let through one by one: the hosts named by the proxy
variables, pip's and npm's settings and Go's proxy, and the public registries' own names,
each resolved once when the server starts.
"""

from __future__ import annotations

import configparser
import contextlib
import os
import socket
from collections.abc import Iterable, Mapping
from ipaddress import IPv4Address, IPv4Network, ip_address
from pathlib import Path
from urllib.parse import urlsplit

#: the registries builds use when nothing else is configured
PUBLIC = (
    "pypi.org",
    "files.pythonhosted.org",
    "registry.npmjs.org",
    "proxy.golang.org",
    "sum.golang.org",
)
_URL_VARIABLES = (
    "http_proxy",
    "https_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_FIND_LINKS",
    "NPM_CONFIG_REGISTRY",
    "npm_config_registry",
    "GOPROXY",
)
_PIP_FILES = ("/etc/pip.conf", "/etc/xdg/pip/pip.conf", "~/.config/pip/pip.conf", "~/.pip/pip.conf")
_PIP_KEYS = ("index-url", "extra-index-url", "find-links")


def registry_hosts(env: Mapping[str, str] | None = None) -> set[str]:
    """The host names (or addresses) of every registry and proxy a build may be sent to."""
    env = os.environ if env is None else env
    urls = [value for key in _URL_VARIABLES if (value := env.get(key))]
    urls += _pip_urls(Path(os.path.expanduser(name)) for name in _PIP_FILES)
    urls += _npmrc_urls(Path(os.path.expanduser("~/.npmrc")))
    hosts = set(PUBLIC)
    for text in urls:
        for url in text.replace(",", " ").replace("|", " ").split():
            host = urlsplit(url if "://" in url else f"http://{url}").hostname
            if host and url not in ("direct", "off"):
                hosts.add(host)
    return hosts


def _pip_urls(files: Iterable[Path]) -> list[str]:
    found = []
    for path in files:
        config = configparser.ConfigParser()
        with contextlib.suppress(OSError, configparser.Error):
            config.read(path)
        for section in config.sections():
            found += [config[section][key] for key in _PIP_KEYS if key in config[section]]
    return found


def _npmrc_urls(path: Path) -> list[str]:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return []
    return [line.split("=", 1)[1].strip() for line in lines if line.strip().startswith("registry")]


def registry_networks(hosts: Iterable[str]) -> tuple[IPv4Network, ...]:
    """Each IPv4 address the hosts resolve to now, as a /32 (file:// and unknown names give
    none)."""
    found: set[IPv4Address] = set()
    for host in hosts:
        with contextlib.suppress(OSError, UnicodeError):
            for *_, address in socket.getaddrinfo(host, None, socket.AF_INET, socket.SOCK_STREAM):
                ip = ip_address(address[0])
                if isinstance(ip, IPv4Address):
                    found.add(ip)
    return tuple(IPv4Network(f"{ip}/32") for ip in sorted(found))
