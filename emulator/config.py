"""config.yaml, read once into frozen dataclasses.

Every key, its default and what it means is documented in the sample
config.yaml and in docs/config.md. Relative paths resolve against the folder
that holds the config file.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import schema
from .errors import ConfigError
from .limits import ISOLATIONS, WORKER

DEFAULT_FILE = "config.yaml"
API_KEY_PATTERN = re.compile(r"^1003\.[0-9a-f]{32}\.[0-9a-f]{32}$")
NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
CLIENT_ID_PATTERN = re.compile(r"^1000\.[A-Z0-9]{30}$")
CLIENT_SECRET_PATTERN = re.compile(r"^[0-9a-f]{32,64}$")


def _port(value: int) -> str | None:
    return None if 1 <= value <= 65535 else "Ports run from 1 to 65535."


def _positive(value: float) -> str | None:
    return None if value > 0 else "Use a number above zero."


def _not_negative(value: float) -> str | None:
    return None if value >= 0 else "Use 0 or a number above it."


def _at_least(minimum: int, unit: str) -> Any:
    def check(value: int) -> str | None:
        return None if value >= minimum else f"Use at least {minimum} {unit}."

    return check


def _isolation(value: str) -> str | None:
    if value in ISOLATIONS:
        return None
    return (
        "Use 'worker' (long-lived workers, each call from fresh state: fast) or "
        "'process' (a fresh process for every call: slower, nothing to audit)."
    )


def _identifier(value: str) -> str | None:
    if NAME_PATTERN.match(value):
        return None
    return (
        "Use a Python identifier: letters, digits and '_', not starting with a digit."
    )


def _api_key(value: str) -> str | None:
    if API_KEY_PATTERN.match(value):
        return None
    return (
        "Zoho API keys look like 1003.<32 hex>.<32 hex>; "
        "run 'zcrm-emulator keys create' to make one, or remove the entry."
    )


def _email(value: str) -> str | None:
    return (
        None if "@" in value else "Write a full e-mail address such as ada@example.com."
    )


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = field(
        default=8000, metadata={"check": _port, "allowed": "a port 1-65535"}
    )


@dataclass(frozen=True)
class OrgConfig:
    id: str = "4150868000000000001"
    name: str = "Emulated Org"


@dataclass(frozen=True)
class UserConfig:
    email: str = field(metadata={"check": _email, "allowed": "an e-mail address"})
    first_name: str = ""
    last_name: str = ""
    id: str = ""
    role: str = "CEO"
    profile: str = "Administrator"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


DEFAULT_USER = UserConfig(
    email="admin@example.com",
    first_name="Ada",
    last_name="Admin",
    id="4150868000000225013",
)


@dataclass(frozen=True)
class ApiKeyConfig:
    key: str = field(metadata={"check": _api_key, "allowed": "a Zoho API key"})
    user: str = ""


@dataclass(frozen=True)
class RestConfig:
    apikey: bool = True
    oauth: bool = True


@dataclass(frozen=True)
class FunctionConfig:
    rest: RestConfig = field(default_factory=RestConfig)
    # This function's wall-time limit; None: limits.timeout_seconds.
    timeout_seconds: float | None = field(
        default=None, metadata={"check": _positive, "allowed": "seconds above zero"}
    )


@dataclass(frozen=True)
class LimitsConfig:
    request_bytes: int = field(
        default=10 * 1024 * 1024,
        metadata={"check": _positive, "allowed": "a byte count above zero"},
    )
    response_bytes: int = field(
        default=10 * 1024 * 1024,
        metadata={"check": _positive, "allowed": "a byte count above zero"},
    )
    # Zoho: 60 s for REST functions. `serve --timeout` overrides it for one run.
    timeout_seconds: float = field(
        default=60.0, metadata={"check": _positive, "allowed": "seconds above zero"}
    )
    # Zoho: 200,000 executed statements (docs/sandbox.md says what counts).
    statements: int = field(
        default=200_000,
        metadata={"check": _positive, "allowed": "a statement count above zero"},
    )
    memory_mb: int = field(
        default=512,
        metadata={
            "check": _at_least(64, "MB: the worker itself needs about 30"),
            "allowed": "megabytes, 64 or more",
        },
    )
    info_lines: int = field(
        default=1000, metadata={"check": _positive, "allowed": "a count above zero"}
    )
    print_bytes: int = field(
        default=1024 * 1024,
        metadata={"check": _positive, "allowed": "a byte count above zero"},
    )
    # Worker processes; None: one per CPU, at least 2, at most 8.
    workers: int | None = field(
        default=None, metadata={"check": _positive, "allowed": "a count above zero"}
    )
    # How calls are kept apart: docs/sandbox.md, "Isolation".
    isolation: str = field(
        default=WORKER,
        metadata={"check": _isolation, "allowed": "'worker' or 'process'"},
    )


def _client_id(value: str) -> str | None:
    if CLIENT_ID_PATTERN.match(value):
        return None
    return (
        "Zoho client ids look like 1000.<30 upper-case letters or digits>; "
        "run 'zcrm-emulator clients add' to make one."
    )


def _client_secret(value: str) -> str | None:
    if CLIENT_SECRET_PATTERN.match(value):
        return None
    return (
        "Zoho client secrets are 32 to 64 lower-case hex digits; "
        "run 'zcrm-emulator clients add' to make a client with one."
    )


def _seconds(value: int) -> str | None:
    return None if value > 0 else "Use a number of seconds above zero."


def _limit(value: int) -> str | None:
    return None if value >= 0 else "Use a whole number; 0 turns the limit off."


@dataclass(frozen=True)
class OAuthClientConfig:
    client_id: str = field(metadata={"check": _client_id, "allowed": "a client id"})
    client_secret: str = field(
        repr=False, metadata={"check": _client_secret, "allowed": "a client secret"}
    )
    name: str = ""
    redirect_uris: tuple[str, ...] = ()
    user: str = ""


@dataclass(frozen=True)
class ThrottleConfig:
    access_tokens_per_refresh_token: int = field(
        default=10, metadata={"check": _limit, "allowed": "a count (0: no limit)"}
    )
    window_seconds: int = field(
        default=600, metadata={"check": _seconds, "allowed": "seconds above zero"}
    )
    live_access_tokens: int = field(
        default=15, metadata={"check": _limit, "allowed": "a count (0: no limit)"}
    )
    refresh_tokens_per_user: int = field(
        default=20, metadata={"check": _limit, "allowed": "a count (0: no limit)"}
    )


@dataclass(frozen=True)
class OAuthConfig:
    clients: tuple[OAuthClientConfig, ...] = ()
    token_lifetime: int = field(
        default=3600, metadata={"check": _seconds, "allowed": "seconds above zero"}
    )
    code_lifetime: int = field(
        default=120, metadata={"check": _seconds, "allowed": "seconds above zero"}
    )
    throttle: ThrottleConfig = field(default_factory=ThrottleConfig)
    accept_bearer: bool = False
    all_scopes: bool = True
    clock_endpoint: bool = False
    api_domain: str = ""
    accounts_url: str = ""
    location: str = "us"


@dataclass(frozen=True)
class HistoryConfig:
    keep: int = field(
        default=1000,
        metadata={"check": _not_negative, "allowed": "a count of 0 or more"},
    )
    body_bytes: int = field(
        default=65536,
        metadata={"check": _not_negative, "allowed": "a byte count of 0 or more"},
    )


@dataclass(frozen=True)
class Config:
    functions_dir: str = "functions"
    state_dir: str = ".emulator"
    entry_point: str = field(
        default="handler", metadata={"check": _identifier, "allowed": "a function name"}
    )
    server: ServerConfig = field(default_factory=ServerConfig)
    org: OrgConfig = field(default_factory=OrgConfig)
    users: tuple[UserConfig, ...] = ()
    api_keys: tuple[ApiKeyConfig, ...] = ()
    functions: dict[str, FunctionConfig] = field(default_factory=dict)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    history: HistoryConfig = field(default_factory=HistoryConfig)
    oauth: OAuthConfig = field(default_factory=OAuthConfig)
    root: Path = field(default=Path("."), metadata={"internal": True})
    source: str = field(default=DEFAULT_FILE, metadata={"internal": True})

    @property
    def functions_path(self) -> Path:
        return self.root / self.functions_dir

    @property
    def state_path(self) -> Path:
        return self.root / self.state_dir / "state.db"

    def function(self, name: str) -> FunctionConfig:
        return self.functions.get(name, FunctionConfig())

    def user(self, ref: str) -> UserConfig:
        """The user whose id or e-mail is `ref`; the first user when `ref` is empty."""
        for user in self.users:
            if ref in ("", user.id, user.email):
                return user
        known = ", ".join(u.email for u in self.users)
        raise ConfigError(
            f"unknown user '{ref}'; the emulated users are: {known}. "
            f"Use one of them, or add the user under 'users' in {self.source}.",
            details={"user": ref},
        )


def load(path: Path) -> Config:
    """Read and validate config.yaml at `path`."""
    if not path.is_file():
        raise ConfigError(
            f"{path}: no such config file. Run the emulator in a project folder that has "
            f"a config.yaml, pass --config PATH, or run 'zcrm-emulator init' to make one."
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}. Fix the syntax.") from exc
    return from_data(data, root=path.resolve().parent, source=str(path))


def from_data(data: Any, *, root: Path, source: str = DEFAULT_FILE) -> Config:
    """Validate already-parsed YAML data (tests and `init` use this directly)."""
    config: Config = schema.build(Config, data, "", source)
    config = dataclasses.replace(config, root=root, source=source)
    config = dataclasses.replace(config, users=_users(config))
    _check_references(config)
    return config


def _users(config: Config) -> tuple[UserConfig, ...]:
    users = config.users or (DEFAULT_USER,)
    base = int(DEFAULT_USER.id)
    filled = tuple(
        u if u.id else dataclasses.replace(u, id=str(base + i))
        for i, u in enumerate(users)
    )
    for kind in ("id", "email"):
        seen: set[str] = set()
        for i, user in enumerate(filled):
            value = getattr(user, kind)
            if value in seen:
                raise ConfigError(
                    f"{config.source}: users[{i}].{kind}: '{value}' is used by two users. "
                    f"Give each user its own {kind}."
                )
            seen.add(value)
    return filled


def _check_references(config: Config) -> None:
    for i, key in enumerate(config.api_keys):
        try:
            config.user(key.user)
        except ConfigError as exc:
            raise ConfigError(
                f"{config.source}: api_keys[{i}].user: {exc.message}"
            ) from exc
    _check_oauth(config)


def _check_oauth(config: Config) -> None:
    seen: set[str] = set()
    for i, client in enumerate(config.oauth.clients):
        where = f"{config.source}: oauth.clients[{i}]"
        if client.client_id in seen:
            raise ConfigError(
                f"{where}.client_id: '{client.client_id}' is used by two clients. "
                f"Give each client its own id."
            )
        seen.add(client.client_id)
        for j, uri in enumerate(client.redirect_uris):
            if not uri.startswith(("http://", "https://")):
                raise ConfigError(
                    f"{where}.redirect_uris[{j}]: expected a URL starting with http:// "
                    f"or https:// (Zoho's rule); found '{uri}'. Write the full URL your "
                    f"app listens on, such as http://localhost:9000/callback."
                )
        try:
            config.user(client.user)
        except ConfigError as exc:
            raise ConfigError(f"{where}.user: {exc.message}") from exc
    for key in ("api_domain", "accounts_url"):
        value = getattr(config.oauth, key)
        if value and not value.startswith(("http://", "https://")):
            raise ConfigError(
                f"{config.source}: oauth.{key}: expected a URL starting with http:// or "
                f"https://; found '{value}'. Leave it out to use the emulator's own URL."
            )
