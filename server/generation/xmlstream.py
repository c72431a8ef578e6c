"""An incremental parser for single-shot answers: `<file path="...">content</file>` blocks.

Chunks arrive split anywhere (inside a tag, inside `]]>`); content is taken verbatim, so code with
`<` and `>` (JSX, generics) passes through untouched, and only `</file>` ends a block, unless the
content is wrapped in `<![CDATA[ ... ]]>`, inside which `</file>` is ordinary text. The newline
right after the opening tag is not part of the file. Text outside blocks is ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

OPEN_TAG = re.compile(r"""<file\s+path\s*=\s*(?:"([^"]*)"|'([^']*)')\s*>""")
CLOSE_TAG = "</file>"
CDATA_OPEN = "<![CDATA["
CDATA_CLOSE = "]]>"


@dataclass(frozen=True)
class FileStarted:
    path: str


@dataclass(frozen=True)
class FileText:
    path: str
    text: str


@dataclass(frozen=True)
class FileEnded:
    path: str


Event = FileStarted | FileText | FileEnded


def _keep_possible_prefix(buffer: str, token: str) -> int:
    """How many trailing characters of `buffer` could start `token` (and must wait for more)."""
    for size in range(min(len(token) - 1, len(buffer)), 0, -1):
        if token.startswith(buffer[-size:]):
            return size
    return 0


class FileBlockParser:
    def __init__(self) -> None:
        self._buffer = ""
        self._path: str | None = None
        self._mode = "outside"  # outside | start | content | cdata_start | cdata | after_cdata

    @property
    def open_path(self) -> str | None:
        """The path of the block being read, if one is open."""
        return self._path

    def feed(self, chunk: str) -> list[Event]:
        self._buffer += chunk
        events: list[Event] = []
        while True:
            progressed = getattr(self, f"_{self._mode}")(events)
            if not progressed:
                return events

    def _outside(self, events: list[Event]) -> bool:
        match = OPEN_TAG.search(self._buffer)
        if match is None:
            start = self._buffer.rfind("<file")
            if start == -1:
                keep = _keep_possible_prefix(self._buffer, "<file")
                self._buffer = self._buffer[len(self._buffer) - keep :] if keep else ""
            else:
                self._buffer = self._buffer[start:]  # an open tag still arriving
            return False
        self._path = match.group(1) if match.group(1) is not None else match.group(2)
        self._buffer = self._buffer[match.end() :]
        self._mode = "start"
        events.append(FileStarted(self._path))
        return True

    def _start(self, events: list[Event]) -> bool:
        """Right after the opening tag: a newline to drop, or CDATA to open."""
        stripped = self._buffer.lstrip(" \t\r\n")
        if not stripped or (CDATA_OPEN.startswith(stripped) and len(stripped) < len(CDATA_OPEN)):
            return False  # still undecided
        if stripped.startswith(CDATA_OPEN):
            self._buffer = stripped[len(CDATA_OPEN) :]
            self._mode = "cdata_start"
            return True
        self._drop_newline_then("content")
        return True

    def _cdata_start(self, events: list[Event]) -> bool:
        """Right after `<![CDATA[`: a newline there is not part of the file."""
        if not self._buffer or self._buffer == "\r":
            return False
        self._drop_newline_then("cdata")
        return True

    def _drop_newline_then(self, mode: str) -> None:
        for newline in ("\r\n", "\n"):
            if self._buffer.startswith(newline):
                self._buffer = self._buffer[len(newline) :]
                break
        self._mode = mode

    def _content(self, events: list[Event]) -> bool:
        return self._read_until(CLOSE_TAG, events, then="outside")

    def _cdata(self, events: list[Event]) -> bool:
        return self._read_until(CDATA_CLOSE, events, then="after_cdata")

    def _after_cdata(self, events: list[Event]) -> bool:
        stripped = self._buffer.lstrip()
        if len(stripped) < len(CLOSE_TAG) and CLOSE_TAG.startswith(stripped):
            return False
        if stripped.startswith(CLOSE_TAG):
            self._buffer = stripped[len(CLOSE_TAG) :]
        else:  # text between ]]> and </file>: not ours to keep
            end = stripped.find(CLOSE_TAG)
            if end == -1:
                self._buffer = ""
                return False
            self._buffer = stripped[end + len(CLOSE_TAG) :]
        self._end(events)
        return True

    def _read_until(self, token: str, events: list[Event], then: str) -> bool:
        assert self._path is not None
        end = self._buffer.find(token)
        if end == -1:
            keep = _keep_possible_prefix(self._buffer, token)
            text = self._buffer[: len(self._buffer) - keep]
            if text:
                events.append(FileText(self._path, text))
            self._buffer = self._buffer[len(text) :]
            return False
        if end:
            events.append(FileText(self._path, self._buffer[:end]))
        self._buffer = self._buffer[end + len(token) :]
        if then == "outside":
            self._end(events)
        else:
            self._mode = then
        return True

    def _end(self, events: list[Event]) -> None:
        assert self._path is not None
        events.append(FileEnded(self._path))
        self._path = None
        self._mode = "outside"
