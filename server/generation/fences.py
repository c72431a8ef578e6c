"""The code in an LLM's answer: inside its one fenced block when it wrote one, else the answer.

Also `partial_code`, the same for an answer still streaming, so a file can fill in on disk.
"""

from __future__ import annotations

import re

_OPEN = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,})[ \t]*[\w+#.-]*[ \t]*$", re.MULTILINE)


def _blocks(text: str) -> list[tuple[int, int | None]]:
    """(start of content, end of content or None if unclosed) for each fenced block."""
    blocks: list[tuple[int, int | None]] = []
    position = 0
    while True:
        opening = _OPEN.search(text, position)
        if opening is None:
            return blocks
        fence = opening.group("fence")
        content_start = opening.end() + 1 if opening.end() < len(text) else opening.end()
        closing = re.compile(
            rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$", re.MULTILINE
        ).search(text, content_start)
        if closing is None:
            blocks.append((content_start, None))
            return blocks
        blocks.append((content_start, closing.start()))
        position = closing.end()


def extract_code(answer: str) -> str:
    """The file content: the longest fenced block (models sometimes add a usage example after the
    file), or the whole answer when there is no fence. Ends with exactly one newline."""
    blocks = _blocks(answer)
    if not blocks:
        code = answer.strip("\n")
    else:
        start, end = max(blocks, key=lambda b: (b[1] if b[1] is not None else len(answer)) - b[0])
        code = answer[start:end].rstrip("\n") if end is not None else answer[start:].rstrip("\n")
    return code + "\n" if code else ""


def partial_code(answer: str) -> str | None:
    """What a streaming answer has of the file so far, or None while it is still in its preamble."""
    blocks = _blocks(answer)
    if blocks:
        start, end = blocks[0]
        return answer[start:end] if end is not None else answer[start:]
    # No fence yet: a plain-code answer shows itself soon enough; prose does not.
    return answer if len(answer) > 400 and "\n" in answer else None
