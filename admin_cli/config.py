"""Where `psv-admin` keeps the server URL and token: a 0600 file, overridable by environment."""

from __future__ import annotations

import contextlib
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import typer

from admin_cli.errors import CliError, ExitCode

APP_NAME = "psv-admin"
FILE_NAME = "config.json"
ENV_URL = "PSV_ADMIN_URL"
ENV_TOKEN = "PSV_ADMIN_TOKEN"


@dataclass(frozen=True)
class Config:
    """The server to talk to and the bearer token to show it."""

    url: str
    token: str
    source: str  # "file", "environment" or "file+environment"


def config_dir() -> Path:
    """The user's config folder for psv-admin (honours $XDG_CONFIG_HOME on Linux)."""
    return Path(typer.get_app_dir(APP_NAME))


def config_path() -> Path:
    """The config file's path."""
    return config_dir() / FILE_NAME


def mask_token(token: str) -> str:
    """A token safe to show: its prefix and first four characters, e.g. `psv_abcd…`."""
    if token.startswith("psv_"):
        return token[:8] + "…"
    return token[:4] + "…" if len(token) > 4 else "…"


def normalise_url(url: str) -> str:
    """The server's base URL without a trailing slash; refuses anything but http(s)."""
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise CliError(
            f"The server URL must start with http:// or https:// (got {url!r}).", ExitCode.USAGE
        )
    return url


def save(url: str, token: str) -> Path:
    """Write the URL and token to the config file, readable by the user only (0600 in 0700)."""
    folder = config_dir()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    path = folder / FILE_NAME
    temporary = folder / (FILE_NAME + ".tmp")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)
        json.dump({"url": url, "token": token}, handle)
        handle.write("\n")
    os.replace(temporary, path)
    return path


def delete() -> bool:
    """Remove the config file; True when there was one."""
    try:
        config_path().unlink()
    except FileNotFoundError:
        return False
    return True


def read_file() -> dict[str, str]:
    """The stored URL and token (empty when not logged in); refuses a file others can read."""
    path = config_path()
    try:
        mode = path.stat().st_mode
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise CliError(
            f"{path} can be read by other users; refusing to use the token in it.",
            ExitCode.UNAUTHORIZED,
            hint=f"chmod 600 {path}, or run psv-admin login again.",
        )
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise CliError(
            f"{path} is not valid JSON.", ExitCode.FAILURE, hint="Run psv-admin login again."
        ) from exc
    if not isinstance(data, dict):
        raise CliError(f"{path} is not a psv-admin config.", ExitCode.FAILURE)
    return {k: str(v) for k, v in data.items() if k in ("url", "token") and v}


def load() -> Config:
    """The URL and token to use: $PSV_ADMIN_URL and $PSV_ADMIN_TOKEN win over the file."""
    env_url = os.environ.get(ENV_URL, "").strip()
    env_token = os.environ.get(ENV_TOKEN, "").strip()
    stored = {} if env_url and env_token else read_file()
    url = env_url or stored.get("url", "")
    token = env_token or stored.get("token", "")
    if not url or not token:
        raise CliError(
            "Not logged in.",
            ExitCode.UNAUTHORIZED,
            hint="Run psv-admin login --url URL (or set PSV_ADMIN_URL and PSV_ADMIN_TOKEN).",
        )
    sources = {
        "environment" if (env_url or env_token) else "",
        "file" if (not env_url or not env_token) else "",
    } - {""}
    source = "+".join(sorted(sources, key=lambda s: s != "file"))
    return Config(url=normalise_url(url), token=token, source=source)
