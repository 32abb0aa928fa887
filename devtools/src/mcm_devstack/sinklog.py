"""What the local mail and SMS sinks do with a message: print it readably to their log and keep
the last N in a JSON file, which people (and the end-to-end tests) read to find codes and links."""

from __future__ import annotations

import json
import os
import threading
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DEFAULT_KEEP = 50
RULE = "─" * 72


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class MessageLog:
    """The last `keep` messages, newest last, rewritten to `store` after each one."""

    def __init__(self, store: Path, keep: int = DEFAULT_KEEP) -> None:
        self.store = Path(store)
        self.store.parent.mkdir(parents=True, exist_ok=True)
        # Earlier runs' messages stay readable across a restart of `make run`.
        self.messages: deque[dict[str, Any]] = deque(read_messages(self.store), maxlen=keep)
        self._lock = threading.Lock()  # the SMS sink serves requests on threads

    def record(self, message: dict[str, Any], headline: str, lines: list[str], body: str) -> None:
        with self._lock:
            self.messages.append(message)
            # Write-then-rename, so a reader never sees half a file.
            partial = self.store.with_name(self.store.name + ".tmp")
            partial.write_text(json.dumps(list(self.messages), indent=2, ensure_ascii=False), encoding="utf-8")
            os.replace(partial, self.store)
        shown = "\n".join([RULE, f"{headline}  ({message['received_at']})", *lines, "", body.rstrip(), RULE])
        print(shown, flush=True)


def read_messages(store: Path) -> list[dict[str, Any]]:
    """The messages a sink kept (oldest first); [] before the first one arrives."""
    try:
        loaded = json.loads(Path(store).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return loaded if isinstance(loaded, list) else []
