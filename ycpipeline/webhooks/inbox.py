"""A durable directory inbox of webhook events.

Layout: `new/` (accepted, waiting), `processed/` (archived after their run was requested),
`dead/` (bodies the receiver refused, with the reason), `quarantine/` (files the sensor could not read),
`tmp/` (writes in progress). Each event is its own file, written to `tmp/`, fsynced and renamed into
`new/`, so a reader never sees half a file. Names sort by arrival: `<ns since epoch>-<uuid>.json`.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SUBDIRS = ("new", "processed", "dead", "quarantine", "tmp")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Inbox:
    """The inbox rooted at `root`."""

    root: Path

    def ensure(self) -> Inbox:
        """Create the folders if missing."""
        for name in SUBDIRS:
            (self.root / name).mkdir(parents=True, exist_ok=True)
        return self

    def _write(self, folder: str, name: str, data: bytes) -> Path:
        tmp = self.root / "tmp" / f"{name}.part"
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        final = self.root / folder / name
        os.rename(tmp, final)
        _fsync_dir(self.root / folder)
        return final

    @staticmethod
    def new_name(suffix: str = ".json") -> str:
        """A unique name that sorts by arrival time."""
        return f"{time.time_ns():020d}-{uuid.uuid4().hex}{suffix}"

    def accept(self, event: dict[str, Any]) -> Path:
        """Durably store one event in `new/`."""
        body = json.dumps(event, ensure_ascii=False, sort_keys=True).encode()
        return self._write("new", self.new_name(), body)

    def dead_letter(self, body: bytes, reason: str) -> Path:
        """Keep a refused body with the reason beside it."""
        name = self.new_name(".body")
        self._write("dead", name + ".reason.json", json.dumps({"reason": reason}).encode())
        return self._write("dead", name, body)

    def pending(self, after: str | None = None, limit: int = 1000) -> list[Path]:
        """Files in `new/` that sort after `after`, oldest first, at most `limit`."""
        names = sorted(p.name for p in (self.root / "new").iterdir() if p.suffix == ".json")
        if after:
            names = [n for n in names if n > after]
        return [self.root / "new" / n for n in names[:limit]]

    def archive_through(self, last: str) -> int:
        """Move every file in `new/` up to and including `last` to `processed/`."""
        moved = 0
        for path in sorted((self.root / "new").iterdir()):
            if path.name <= last:
                os.replace(path, self.root / "processed" / path.name)
                moved += 1
        return moved

    def quarantine(self, path: Path, reason: str) -> None:
        """Move an unreadable file aside, with the reason."""
        self._write("quarantine", path.name + ".reason.json", json.dumps({"reason": reason}).encode())
        os.replace(path, self.root / "quarantine" / path.name)
