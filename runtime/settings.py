"""Settings: read once from the environment (docs/contract.md "Settings"), one typed struct per
concern and one per process: `HttpSettings` (web), `ActorsSettings`, `LedgerSettings`.

The process structs are the single home of each knob: its default, its meaning, its
environment variable (`HB_ACTORS_<FIELD>`, `HB_LEDGER_<FIELD>`) and its command-line flag
(`--<field>`), which `add_flags` generates from the struct, so a default is written once.
Flags override the environment, which overrides the defaults.

Development secrets (`HB_SECRET_KEY`, `HB_FERNET_KEY`) are generated once into
`.hirebuddha/secrets` with a warning; with `HB_ENV=production` the process refuses to start
without them.
"""

from __future__ import annotations

import argparse
import base64
import functools
import logging
import os
import secrets
import typing
from pathlib import Path
from typing import Annotated, Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

import msgspec
from msgspec import Meta

log = logging.getLogger("hirebuddha.settings")


class SettingsError(RuntimeError):
    """A setting is missing or malformed; the message names the variable."""


class DatabaseSettings(msgspec.Struct, frozen=True):
    """PostgreSQL."""

    url: str
    """Owner connection (migrations, roles, RLS policies). `HB_DATABASE_URL`."""
    app_url: str
    """Connection of the application role: not owner, not superuser, no BYPASSRLS.
    `HB_APP_DATABASE_URL`; by default the owner URL with the user swapped for `app_role`."""
    app_role: str
    """Name of the application role created by `hirebuddha migrate`. `HB_APP_DB_ROLE`."""
    pool_max: int
    """Upper bound of each process's connection pool. `HB_DB_POOL_MAX`."""


class BrokerSettings(msgspec.Struct, frozen=True):
    """RabbitMQ."""

    url: str
    """`HB_AMQP_URL`."""
    prefix: str
    """Prefix of every exchange and queue this deployment declares, so test runs never
    share names. `HB_AMQP_PREFIX`, empty by default (names exactly as in docs/contract.md)."""


class HttpSettings(msgspec.Struct, frozen=True):
    """The web process."""

    host: str
    """`HB_HTTP_HOST`."""
    port: int
    """`HB_HTTP_PORT`."""
    allowed_origins: tuple[str, ...]
    """Browser origins allowed on WebSockets and CORS. `HB_ALLOWED_ORIGINS`, comma
    separated; the web's own origin is always allowed."""
    max_body_bytes: int
    """Largest request body accepted (413 above it). `HB_MAX_BODY_BYTES`."""
    secure_cookies: bool
    """Set the Secure flag on cookies; on by default in production."""
    spa_dist: str
    """Folder of the built console served at `/`. `HB_SPA_DIST`, default `spa/dist`."""
    chat_queue_wait_s: float = 120.0
    """How long a chat message over the workspace's concurrency limit waits for a slot
    before it is refused (`queue_wait_exceeded`). `HB_CHAT_QUEUE_WAIT_S`, default 120."""
    public_url: str = ""
    """Where people reach the console, for the links mailed to them (verify, reset,
    invitation) and OIDC redirects. `HB_PUBLIC_URL`, default `http://<host>:<port>`; never
    taken from a request's Host header (a forged one would send reset links elsewhere)."""


class ActorsSettings(msgspec.Struct, frozen=True, kw_only=True):
    """The actors process (`hirebuddha actors`): `HB_ACTORS_<FIELD>` or `--<field>`."""

    env_prefix: ClassVar[str] = "HB_ACTORS_"

    capacity: Annotated[int, Meta(ge=1, description="executions at once (prefetch per tier lane)")] = 32
    shutdown_timeout: Annotated[
        float, Meta(ge=0, description="seconds SIGTERM lets running executions finish")
    ] = 20.0
    execution_timeout: Annotated[float, Meta(gt=0, description="seconds one execution may run")] = 600.0
    heartbeat: Annotated[float, Meta(gt=0, description="seconds between a running row's heartbeats")] = 5.0
    stale_after: Annotated[
        float, Meta(gt=0, description="sweeper: seconds without heartbeat before a running row is failed")
    ] = 60.0
    pending_after: Annotated[
        float, Meta(gt=0, description="sweeper: seconds before a never-claimed pending row is failed")
    ] = 3600.0
    sweep_interval: Annotated[float, Meta(gt=0, description="seconds between sweeps and promotions")] = 15.0
    max_attempts: Annotated[
        int, Meta(ge=1, description="deliveries of one execution (process crashes) before it fails")
    ] = 3
    provider_timeout: Annotated[
        float, Meta(gt=0, description="seconds of provider silence before a call fails")
    ] = 60.0
    provider_retries: Annotated[int, Meta(ge=0, description="extra calls after a transient error")] = 2
    breaker_threshold: Annotated[
        int, Meta(ge=1, description="consecutive failures that open a provider's circuit")
    ] = 5
    breaker_cooldown: Annotated[float, Meta(gt=0, description="seconds a circuit stays open")] = 30.0
    webhook_capacity: Annotated[int, Meta(ge=1, description="webhook deliveries at once")] = 16
    metrics_port: Annotated[
        int | None, Meta(description="port of the Prometheus /metrics endpoint (unset: none)")
    ] = None
    """`HB_ACTORS_METRICS_PORT` (runtime/metrics.py)."""
    ingest_capacity: Annotated[int, Meta(ge=1, description="documents ingested at once")] = 1


class LedgerSettings(msgspec.Struct, frozen=True, kw_only=True):
    """The ledger process (`hirebuddha ledger`): `HB_LEDGER_<FIELD>` or `--<field>`."""

    env_prefix: ClassVar[str] = "HB_LEDGER_"

    batch_size: Annotated[int, Meta(ge=1, description="usage events per transaction")] = 200
    batch_ms: Annotated[int, Meta(ge=0, description="longest wait to fill a batch after its first event")] = (
        50
    )
    sweep_interval: Annotated[
        float, Meta(gt=0, description="seconds between sweeps of stale budget reservations")
    ] = 60.0
    crash_after_commits: Annotated[
        int | None,
        Meta(description="tests only (HB_ENV=test): SIGKILL itself after N commits, before the acks"),
    ] = None
    metrics_port: Annotated[
        int | None, Meta(description="port of the Prometheus /metrics endpoint (unset: none)")
    ] = None
    """`HB_LEDGER_METRICS_PORT` (runtime/metrics.py)."""


class AuthSettings(msgspec.Struct, frozen=True):
    """Tokens, hashing and login throttling."""

    secret_key: str
    """HMAC key of access tokens. `HB_SECRET_KEY`."""
    fernet_key: str
    """Encryption key for secrets at rest (provider keys). `HB_FERNET_KEY`."""
    access_ttl_s: int
    """Lifetime of an access token: 15 minutes."""
    refresh_ttl_s: int
    """Lifetime of a refresh token: 30 days."""
    issuer: str
    audience: str
    login_limit: int
    """Login/register attempts per email in one window. `HB_LOGIN_LIMIT`."""
    login_ip_limit: int
    """Login/register attempts per client IP in one window. `HB_LOGIN_IP_LIMIT`."""
    login_window_s: int
    """Length of that window. `HB_LOGIN_WINDOW_S`."""


class MailSettings(msgspec.Struct, frozen=True):
    """Outgoing mail (runtime/mail.py)."""

    smtp_url: str
    """`HB_SMTP_URL`: `smtp://[user:password@]host:port`, or `smtps://` for implicit TLS;
    `?starttls=1` upgrades a plain connection. Default `smtp://127.0.0.1:1025`, where
    `hirebuddha up` runs a local catcher so no mail leaves a development machine."""
    sender: str
    """The From address. `HB_MAIL_FROM`."""


class KnowledgeSettings(msgspec.Struct, frozen=True):
    """Documents and retrieval (docs/knowledge.md)."""

    embedding_model: str
    """The catalog embedding model documents and queries are embedded with.
    `HB_EMBEDDING_MODEL`, default `demo-embed` (offline)."""
    max_document_bytes: int
    """Largest upload; larger ones get 413. `HB_MAX_DOCUMENT_BYTES`, default 10 MiB."""


class ChannelSettings(msgspec.Struct, frozen=True):
    """The messaging channels' send APIs (runtime/channels.py, docs/channels.md)."""

    telegram_api_url: str = "https://api.telegram.org"
    """Base of the Telegram Bot API. `HB_TELEGRAM_API_URL`."""
    whatsapp_api_url: str = "https://graph.facebook.com/v20.0"
    """Base of the WhatsApp Cloud API (Graph API version included). `HB_WHATSAPP_API_URL`."""


class BillingSettings(msgspec.Struct, frozen=True):
    """Dunning (docs/billing.md "Dunning")."""

    retry_days: tuple[int, ...]
    """Days after the first failed charge when it is retried. `HB_BILLING_RETRY_DAYS`, default `1,3,7`."""
    suspend_day: int
    """Day after the first failed charge when an unpaid tenant is suspended. `HB_BILLING_SUSPEND_DAY`."""


class Settings(msgspec.Struct, frozen=True):
    """All settings of one process."""

    env: str
    """`development` (default), `test` or `production`. `HB_ENV`."""
    home: str
    """Folder for generated development files (secrets). `HB_HOME`, default `.hirebuddha`."""
    db: DatabaseSettings
    broker: BrokerSettings
    http: HttpSettings
    auth: AuthSettings
    actors: ActorsSettings
    ledger: LedgerSettings
    mail: MailSettings
    knowledge: KnowledgeSettings
    openai_base_url: str | None
    """`HB_OPENAI_BASE_URL`: unset, the built-in demo provider answers."""
    openai_api_key: str | None
    """`HB_OPENAI_API_KEY`."""
    stripe_api_base: str | None
    stripe_secret_key: str | None
    stripe_webhook_secret: str | None
    stripe_publishable_key: str
    """`HB_STRIPE_PUBLISHABLE_KEY`: handed to Stripe.js in the console."""
    stripe_js_url: str
    """`HB_STRIPE_JS_URL`: where the console loads Stripe.js; by default localstripe's fake one
    when `HB_STRIPE_API_BASE` is set, else https://js.stripe.com/v3/."""
    billing: BillingSettings
    metrics_host: str = "127.0.0.1"
    """Address the actors' and ledger's metrics endpoints bind. `HB_METRICS_HOST`."""
    otlp_endpoint: str | None = None
    """OTLP/HTTP collector (`http://host:4318`): traces are exported when set. `HB_OTLP_ENDPOINT`."""
    channels: ChannelSettings = ChannelSettings()

    @property
    def production(self) -> bool:
        """True when `HB_ENV=production`."""
        return self.env == "production"


def _swap_user(url: str, user: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    netloc = f"{user}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _dev_secrets(home: Path) -> dict[str, str]:
    """Read, or create once, the development secrets file (mode 0600)."""
    path = home / "secrets"
    if path.exists():
        pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
        return {k.strip(): v.strip() for k, v in pairs}
    values = {
        "HB_SECRET_KEY": secrets.token_urlsafe(48),
        "HB_FERNET_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
    }
    home.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.writelines(f"{k}={v}\n" for k, v in values.items())
    log.warning(
        "generated development secrets in %s; set HB_SECRET_KEY and HB_FERNET_KEY in production",
        path,
    )
    return values


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from exc


def _float(env: dict[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from exc


def _days(env: dict[str, str], name: str, default: str) -> tuple[int, ...]:
    raw = env.get(name) or default
    try:
        days = tuple(int(d) for d in raw.split(",") if d.strip())
    except ValueError as exc:
        raise SettingsError(f"{name} must be comma separated days, got {raw!r}") from exc
    if list(days) != sorted(days) or any(d < 0 for d in days):
        raise SettingsError(f"{name} must be increasing days, got {raw!r}")
    return days


def _process_settings(cls: type[msgspec.Struct], env: dict[str, str]) -> Any:
    """A process struct from its `<env_prefix><FIELD>` variables; unset ones keep the default."""
    values: dict[str, Any] = {}
    for field in msgspec.structs.fields(cls):
        name = f"{cls.env_prefix}{field.name.upper()}"  # type: ignore[attr-defined]
        raw = env.get(name)
        if raw is None or raw == "":
            continue
        try:
            values[field.name] = msgspec.convert(raw, field.type, strict=False)
        except msgspec.ValidationError as exc:
            raise SettingsError(f"{name}: {exc}") from exc
    return cls(**values)


def add_flags(parser: argparse.ArgumentParser, current: msgspec.Struct) -> None:
    """One `--<field>` flag per field of a process struct, defaulting to `current` (the
    environment's value, else the struct's default); the namespace keeps the field names."""
    for field in msgspec.structs.fields(current):
        base, *extras = typing.get_args(field.type) or (field.type,)
        description = next((m.description for m in extras if isinstance(m, Meta)), "")
        scalar = next((t for t in typing.get_args(base) if t is not type(None)), base)
        env_name = f"{current.env_prefix}{field.name.upper()}"  # type: ignore[attr-defined]
        parser.add_argument(
            f"--{field.name.replace('_', '-')}",
            type=scalar,
            default=getattr(current, field.name),
            help=f"{description} ({env_name}; default %(default)s)",
        )


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Build settings from an environment mapping (default: `os.environ`)."""
    env = dict(os.environ if env is None else env)
    mode = env.get("HB_ENV", "development")
    if mode not in {"development", "test", "production"}:
        raise SettingsError(f"HB_ENV must be development, test or production, got {mode!r}")
    home = Path(env.get("HB_HOME", ".hirebuddha"))
    secret_key, fernet_key = env.get("HB_SECRET_KEY"), env.get("HB_FERNET_KEY")
    if not (secret_key and fernet_key):
        if mode == "production":
            raise SettingsError("HB_SECRET_KEY and HB_FERNET_KEY are required when HB_ENV=production")
        generated = _dev_secrets(home)
        secret_key = secret_key or generated["HB_SECRET_KEY"]
        fernet_key = fernet_key or generated["HB_FERNET_KEY"]
    if len(secret_key) < 32:
        raise SettingsError("HB_SECRET_KEY must be at least 32 characters")
    db_url = env.get("HB_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/hirebuddha")
    app_role = env.get("HB_APP_DB_ROLE", "hirebuddha_app")
    origins = tuple(o.strip() for o in env.get("HB_ALLOWED_ORIGINS", "").split(",") if o.strip())
    return Settings(
        env=mode,
        home=str(home),
        db=DatabaseSettings(
            url=db_url,
            app_url=env.get("HB_APP_DATABASE_URL") or _swap_user(db_url, app_role),
            app_role=app_role,
            pool_max=_int(env, "HB_DB_POOL_MAX", 20),
        ),
        broker=BrokerSettings(
            url=env.get("HB_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"),
            prefix=env.get("HB_AMQP_PREFIX", ""),
        ),
        http=HttpSettings(
            host=env.get("HB_HTTP_HOST", "127.0.0.1"),
            port=_int(env, "HB_HTTP_PORT", 8000),
            allowed_origins=origins,
            max_body_bytes=_int(env, "HB_MAX_BODY_BYTES", 1_048_576),
            secure_cookies=env.get("HB_SECURE_COOKIES", "1" if mode == "production" else "0") == "1",
            spa_dist=env.get("HB_SPA_DIST") or str(Path(__file__).resolve().parent.parent / "spa" / "dist"),
            chat_queue_wait_s=_float(env, "HB_CHAT_QUEUE_WAIT_S", 120.0),
            public_url=(
                env.get("HB_PUBLIC_URL")
                or f"http://{env.get('HB_HTTP_HOST', '127.0.0.1')}:{_int(env, 'HB_HTTP_PORT', 8000)}"
            ).rstrip("/"),
        ),
        auth=AuthSettings(
            secret_key=secret_key,
            fernet_key=fernet_key,
            access_ttl_s=15 * 60,
            refresh_ttl_s=30 * 24 * 3600,
            issuer="hirebuddha",
            audience="hirebuddha-api",
            login_limit=_int(env, "HB_LOGIN_LIMIT", 10),
            login_ip_limit=_int(env, "HB_LOGIN_IP_LIMIT", 100),
            login_window_s=_int(env, "HB_LOGIN_WINDOW_S", 60),
        ),
        actors=_process_settings(ActorsSettings, env),
        ledger=_process_settings(LedgerSettings, env),
        mail=MailSettings(
            smtp_url=env.get("HB_SMTP_URL", "smtp://127.0.0.1:1025"),
            sender=env.get("HB_MAIL_FROM", "Hirebuddha <no-reply@hirebuddha.local>"),
        ),
        knowledge=KnowledgeSettings(
            embedding_model=env.get("HB_EMBEDDING_MODEL") or "demo-embed",
            max_document_bytes=_int(env, "HB_MAX_DOCUMENT_BYTES", 10 * 1024 * 1024),
        ),
        openai_base_url=env.get("HB_OPENAI_BASE_URL") or None,
        openai_api_key=env.get("HB_OPENAI_API_KEY") or None,
        stripe_api_base=env.get("HB_STRIPE_API_BASE") or None,
        stripe_secret_key=env.get("HB_STRIPE_SECRET_KEY") or None,
        stripe_webhook_secret=env.get("HB_STRIPE_WEBHOOK_SECRET") or None,
        metrics_host=env.get("HB_METRICS_HOST") or "127.0.0.1",
        otlp_endpoint=env.get("HB_OTLP_ENDPOINT") or None,
        channels=ChannelSettings(
            telegram_api_url=env.get("HB_TELEGRAM_API_URL") or ChannelSettings.telegram_api_url,
            whatsapp_api_url=env.get("HB_WHATSAPP_API_URL") or ChannelSettings.whatsapp_api_url,
        ),
        stripe_publishable_key=env.get("HB_STRIPE_PUBLISHABLE_KEY") or "pk_test_hirebuddha",
        stripe_js_url=env.get("HB_STRIPE_JS_URL")
        or (
            f"{env['HB_STRIPE_API_BASE'].rstrip('/')}/js.stripe.com/v3/"
            if env.get("HB_STRIPE_API_BASE")
            else "https://js.stripe.com/v3/"
        ),
        billing=BillingSettings(
            retry_days=_days(env, "HB_BILLING_RETRY_DAYS", "1,3,7"),
            suspend_day=_int(env, "HB_BILLING_SUSPEND_DAY", 14),
        ),
    )


@functools.cache
def get_settings() -> Settings:
    """The process's settings, loaded once."""
    return load_settings()
