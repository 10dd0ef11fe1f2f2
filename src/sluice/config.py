"""Settings: every knob, read once from flags, `SLUICE_*` environment variables and defaults."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from sluice.config_lists import Allowed, parse_allowed, parse_runtimes, server_address
from sluice.paths import default_client_config, default_data_dir, default_work_dir


def duration_value(value: object) -> object:
    """A duration as seconds ("86400", also as a string) or as pydantic takes it (ISO 8601:
    "P1D", "PT12H")."""
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return float(value)
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SLUICE_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 3233
    data_dir: Path = Field(default_factory=default_data_dir)
    #: the client config written on first start and read by the `sluice` CLI (like ~/.wskprops)
    client_config: Path = Field(default_factory=default_client_config)
    #: the URL functions use to call back into Sluice (__OW_API_HOST); derived from host/port
    api_host: str | None = None

    #: FULL fsyncs every accepted call (survives power loss); NORMAL survives process crashes
    sync: Literal["FULL", "NORMAL"] = "FULL"

    # Store and queue
    #: where entities and calls live: "" is the embedded SQLite file in data_dir; a
    #: postgresql://user:password@host:port/database URL selects PostgreSQL
    store: str = ""
    #: apply the PostgreSQL schema's pending migrations at start (else `sluice migrate`)
    migrate: bool = False
    #: connections per pool to PostgreSQL (one pool for durable writes, one for the rest)
    store_pool_size: int = 8

    # Limits (OpenWhisk's names and units)
    blocking_wait_ms: int = 60_000
    timeout_min_ms: int = 100
    timeout_max_ms: int = 10_800_000
    timeout_default_ms: int = 60_000
    memory_min_mb: int = 128
    memory_max_mb: int = 2048
    memory_default_mb: int = 256
    logs_default_mb: int = 10
    logs_max_mb: int = 10
    concurrency_default: int = 1
    #: largest limits.concurrency: calls one Node.js process may run at once (OpenWhisk: 500)
    concurrency_max: int = 500
    #: most actions one sequence runs, its nested sequences' included (OpenWhisk: 50)
    sequence_max_actions: int = 50
    request_max_bytes: int = 1_048_576
    result_max_bytes: int = 1_048_576

    # The HTTP edge (http/edge.py, http/body_cap.py): what any client may hold or send
    #: the largest request body on any route (OpenWhisk's nginx: client_max_body_size 50m)
    body_max_bytes: int = 50 * 1024 * 1024
    #: a request's line and headers: most bytes, and longest time to arrive
    header_max_bytes: int = 64 * 1024
    header_timeout_seconds: float = 10.0
    #: a body must arrive at body_min_rate_bytes a second after a grace of this
    body_timeout_seconds: float = 30.0
    body_min_rate_bytes: int = 64 * 1024
    #: open connections at most; 0: 3/4 of the open-files limit (the soft limit is raised
    #: to the hard one at start), the rest kept for the store, function processes, builds
    max_connections: int = 0

    # Workers
    #: sum of running calls' memory limits may not exceed this (OpenWhisk's invoker user memory)
    worker_memory_mb: int = 4096
    #: running calls per namespace at most
    namespace_concurrency: int = 32
    #: a running call's lease; extended by heartbeats while it runs
    lease_seconds: float = 30.0
    #: running calls at most, all namespaces together (0: only the memory pool bounds them)
    max_running: int = 0
    #: named queues (a function's com.openfaas.queue) and how many of their calls run at
    #: once: "slow=2,batch=4"; a named queue not listed runs queue_concurrency at once
    queues: str = ""
    queue_concurrency: int = 1
    #: attempts before a call whose worker vanished ends as a platform error
    max_attempts: int = 3
    #: on SIGTERM, how long running calls get to finish before they are left for the next start
    shutdown_grace_seconds: float = 30.0
    #: how long the records of ended calls are kept (as Adobe I/O Runtime's 7 days), then
    #: pruned by the scheduler; seconds or ISO 8601 (P30D); 0 keeps them for ever
    activation_retention: timedelta = timedelta(days=7)

    # Scale-out: several processes on one or many hosts
    #: what this process runs: the HTTP API, the worker loop, the scheduler, or all three
    role: Literal["all", "api", "worker", "scheduler"] = "all"
    #: the embedded queue: run the calls in a second process beside the API's (with the
    #: scheduler), at a lower priority, so that accepting them never waits behind running
    #: them or starting their processes. Unset: on for `sluice serve` with the embedded
    #: queue (one process where Sluice is embedded in a program of its own)
    worker_process: bool | None = None
    #: "embedded" (the store's own queue) or a NATS URL (nats://host:4222; tls://host:4222
    #: for TLS; nats://user:password@host or nats://token@host with credentials): JetStream
    #: delivers the calls, the store keeps their records
    queue: str = "embedded"
    #: NATS credentials in a file: a .creds file (user JWT and NKey seed, NATS's JWT auth),
    #: or an NKey user seed (SU...) for a server that lists the user's public key
    nats_creds: Path | None = None
    nats_nkey_seed: Path | None = None
    #: TLS to NATS (also on with a tls:// URL): the CA file that verifies the server's
    #: certificate (default: the system's CAs); a client certificate and key, when it asks
    nats_tls_ca: Path | None = None
    nats_tls_cert: Path | None = None
    nats_tls_key: Path | None = None
    #: this deployment's JetStream stream and the prefix of its NATS subjects
    nats_stream: str = "SLUICE"
    nats_prefix: str = "sluice"
    #: deliveries of a call's message at most (a worker with no room hands a message back,
    #: which counts); past it the call ends as a platform error
    nats_max_deliver: int = 10_000
    #: a call queued this long with no message in the stream is published again
    nats_sweep_seconds: float = 30.0

    # Runtime processes
    #: what contains function processes: auto (bwrap, else Landlock where bwrap cannot make
    #: namespaces), bwrap, landlock, or none (unconfined, as Sluice's own user, on its network)
    sandbox: Literal["auto", "bwrap", "landlock", "none"] = "auto"
    #: the bubblewrap program (a name on PATH, or a path)
    bwrap: str = "bwrap"
    #: where function processes' own directories live (default: on /dev/shm, apart from the
    #: data dir's disk; the data dir's work/ where /dev/shm is no tmpfs)
    work_dir: Path | None = None
    #: what a function process can reach: none, api-only (Sluice's API alone), egress (the
    #: API and the internet, no host, loopback or private address), host
    function_network: Literal["none", "api-only", "egress", "host"] = "egress"
    #: networks (IPv4 CIDRs, addresses) that egress functions may reach although they are
    #: private, shared or reserved ("10.1.0.0/16,192.168.5.7")
    function_egress_allow: str = ""
    #: whether a function may ask for the host's network (its `network` annotation)
    function_network_allow_host: bool = False
    #: the network builds (pip, npm, go) run on: egress (with the package registries let
    #: through) or host
    build_network: Literal["egress", "host"] = "egress"
    #: the unprivileged uid and gid function processes run as when Sluice runs as root
    function_uid: int = Field(default=1_900_000, ge=1)
    #: processes and threads of one function process's tree at once
    function_pids: int = Field(default=256, ge=8)
    #: open files of each function process
    function_open_files: int = Field(default=1024, ge=64)
    #: CPU cores' worth of time a function process's tree may use (0: no cap)
    function_cpus: float = Field(default=1.0, ge=0)
    #: size of a function process's private /tmp and /dev/shm, each
    function_tmp_mb: int = Field(default=512, ge=1)
    #: where the npm packages offered to Node.js functions live (default: under data_dir)
    node_modules: Path | None = None
    #: interpreters of versioned kinds, `KIND=INTERPRETER [RUNNER]; ...` (docs/runtimes.md);
    #: kinds not named are looked for on PATH (node22, python3.12, node, python3, go)
    runtimes: str = ""
    idle_seconds: float = 600.0
    stem_cells: int = 1
    max_processes: int = 64
    #: function processes being started at once at most (0: the machine's cores, at least
    #: 2): a burst of first calls queues its starts rather than taking every core at once
    max_starting: int = Field(default=0, ge=0)

    # Observing (http/metrics.py, http/health.py)
    #: count Prometheus metrics and serve them at /metrics ("off": neither)
    metrics: bool = True
    #: the bearer token /metrics wants from clients not on loopback (unset: loopback only)
    metrics_token: str | None = None
    #: where calls' spans are exported, OTLP over HTTP (the collector's base URL, e.g.
    #: http://localhost:4318; /v1/traces is added); unset: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
    #: or OTEL_EXPORTER_OTLP_ENDPOINT, and with neither no export (observe/spans.py)
    otlp_endpoint: str | None = None

    # Keys
    #: wrong keys one client address may send per minute before they are answered 429
    #: (a correct key always passes); 0 turns the count off
    auth_failures_per_minute: int = 60

    # Fn dialect and function builds
    #: the namespace whose packages are Fn apps; Fn requests authenticate with its key
    fn_namespace: str = "guest"
    #: longest a function build (go build, pip install, npm install) may take
    build_timeout_seconds: float = 600.0
    #: where Go builds download the modules a go.mod requires (Go's GOPROXY: e.g.
    #: https://proxy.golang.org,direct, or a file:// directory); off: standard library and
    #: the function's own local modules only
    goproxy: str = "off"

    # OpenFaaS dialect and callbacks
    #: the namespace whose actions are OpenFaaS functions (/function, /async-function)
    openfaas_namespace: str = "guest"
    #: invoking needs that namespace's key (HTTP Basic); /system/* always does
    openfaas_auth: bool = False
    #: deliveries of an X-Callback-Url callback at most (connection errors and 5xx retried)
    callback_attempts: int = 5
    #: wait before the first retry of a callback; doubled each time up to the max
    callback_backoff_ms: int = 1000
    callback_backoff_max_ms: int = 60_000
    #: how long one callback request may take, from connecting to the receiver's answer
    callback_timeout_seconds: float = 10.0
    #: when set, callbacks are signed as Standard Webhooks are (webhook-id, -timestamp,
    #: -signature; a whsec_<base64> secret is used as the spec says) and carry
    #: X-Sluice-Signature-256: sha256=<HMAC-SHA256 of the body>
    callback_secret: str | None = None
    #: networks (CIDRs, addresses) and host names callbacks may go to although they are
    #: loopback, link-local, private or reserved ("10.1.0.0/16,hooks.internal")
    callback_allow: str = ""
    #: the DNS server (IP or IP:PORT) that resolves callback host names; "" is the system's
    callback_resolver: str = ""
    #: deliveries sent to one destination (scheme, host, port) at once; as many more wait
    #: their turn in memory, the rest are put back in the queue for a while
    callback_per_destination: int = Field(default=8, ge=1)
    #: log the content of each async request and of each callback (OpenFaaS's write_debug)
    write_debug: bool = False
    #: OpenFaaS bodies over request_max_bytes up to this are stored aside (claim check);
    #: they are invoked without a key by default, and each is held in memory while accepted
    claim_check_max_bytes: int = 32 * 1024 * 1024

    # Retry policy (a function's com.openfaas.retry.* annotations override these)
    #: runs of a call at most when its runs fail in a way worth retrying
    retry_attempts: int = 3
    #: the function's HTTP statuses worth another run (platform failures always are)
    retry_codes: str = "429"
    #: wait before the first retry; doubled each time up to the max
    retry_min_wait_ms: int = 1000
    retry_max_wait_ms: int = 60_000
    #: an async call older than this is not run (again) but dead-lettered; 0: no limit
    max_event_age_seconds: float = 0.0

    @field_validator("store")
    @classmethod
    def _known_store(cls, value: str) -> str:
        if value in ("", "sqlite") or value.startswith(("postgresql://", "postgres://")):
            return value
        raise ValueError("store must be empty (the embedded SQLite file) or a postgresql:// URL")

    @field_validator(
        "nats_creds",
        "nats_nkey_seed",
        "nats_tls_ca",
        "nats_tls_cert",
        "nats_tls_key",
        "metrics_token",
        mode="before",
    )
    @classmethod
    def _unset_when_empty(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("runtimes")
    @classmethod
    def _runtimes_parse(cls, value: str) -> str:
        parse_runtimes(value)  # BadRuntimes (a ValueError) says which entry is wrong
        return value

    @field_validator("activation_retention", mode="before")
    @classmethod
    def _seconds_or_iso(cls, value: object) -> object:
        return duration_value(value)

    @field_validator("queue")
    @classmethod
    def _known_queue(cls, value: str) -> str:
        if value in ("", "embedded") or value.startswith(("nats://", "tls://")):
            return value or "embedded"
        raise ValueError("queue must be 'embedded' or a nats:// (or tls://) URL")

    @field_validator("callback_allow")
    @classmethod
    def _known_allow(cls, value: str) -> str:
        Allowed.parse(value)
        return value

    @field_validator("function_egress_allow")
    @classmethod
    def _known_egress_allow(cls, value: str) -> str:
        parse_allowed(value)
        return value

    @field_validator("callback_resolver")
    @classmethod
    def _known_resolver(cls, value: str) -> str:
        if value:
            try:
                server_address(value)
            except ValueError as exc:
                raise ValueError("callback_resolver must be IP or IP:PORT") from exc
        return value

    def resolved_api_host(self) -> str:
        if self.api_host:
            return self.api_host.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def host_network_allowed(self) -> bool:
        """Whether a function may run on the host's network (its `network` annotation)."""
        return self.function_network_allow_host or self.function_network == "host"

    @property
    def resolved_work_dir(self) -> Path:
        return self.work_dir or default_work_dir(self.data_dir)

    @property
    def db_path(self) -> Path:
        return self.data_dir / "sluice.db"

    @property
    def builds_dir(self) -> Path:
        """Build outputs (binaries, dependency environments), one directory per content hash."""
        return self.data_dir / "builds"
