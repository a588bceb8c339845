"""Long transfers with a progress bar: CSV exports to a file, JSON uploads of big files."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

from admin_cli.client import Client
from admin_cli.errors import CliError, ExitCode
from admin_cli.output import err

CHUNK = 64 * 1024


def progress_bar() -> Progress:
    """A byte-counting progress bar on stderr (silent when stderr is not a terminal)."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
        console=err(),
        transient=True,
    )


def export_to_file(client: Client, api_path: str, params: dict[str, Any], destination: Path) -> int:
    """Stream a GET answer into a file (written whole or not at all); the bytes written."""
    folder = destination.resolve().parent
    if not folder.is_dir():
        raise CliError(f"No such folder: {folder}", ExitCode.USAGE)
    fd, temporary = tempfile.mkstemp(prefix=".psv-export-", dir=folder)
    written = 0
    try:
        with os.fdopen(fd, "wb") as handle, progress_bar() as progress:
            task = progress.add_task(f"Exporting {destination.name}", total=None)

            def start(total: int | None) -> None:
                progress.update(task, total=total)

            def sink(chunk: bytes) -> None:
                handle.write(chunk)
                progress.advance(task, len(chunk))

            written = client.download(api_path, params, sink, on_start=start)
        os.replace(temporary, destination)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    return written


def chunks(data: bytes, progress: Progress, description: str) -> Iterator[bytes]:
    """The bytes of an upload in chunks, advancing a progress bar as httpx sends them."""
    task = progress.add_task(description, total=len(data))
    for start in range(0, len(data), CHUNK):
        piece = data[start : start + CHUNK]
        yield piece
        progress.advance(task, len(piece))


def upload_json(client: Client, method: str, api_path: str, body: Any, description: str) -> Any:
    """Send a (large) JSON body with a progress bar; the server's decoded answer."""
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    with progress_bar() as progress:
        return client.request(
            method,
            api_path,
            content=chunks(data, progress, description),
            headers={"Content-Length": str(len(data)), "Content-Type": "application/json"},
        )
