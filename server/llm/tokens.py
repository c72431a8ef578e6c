"""Token estimates without a tokenizer download.

No tokenizer for the configured model can be fetched offline, so budgets use a deliberately
pessimistic estimate: BPE tokenizers of current models average 3.5-4.5 bytes per token on code and
English, so one token per 3 bytes over-counts, keeping every prompt under the real limit.
"""

from __future__ import annotations

BYTES_PER_TOKEN = 3


def estimate_tokens(text: str) -> int:
    return -(-len(text.encode("utf-8")) // BYTES_PER_TOKEN)


def truncate_to_tokens(text: str, tokens: int) -> str:
    """The longest prefix of `text` (cut at a line end when possible) within `tokens`."""
    if estimate_tokens(text) <= tokens:
        return text
    cut = text.encode("utf-8")[: max(0, tokens) * BYTES_PER_TOKEN].decode("utf-8", "ignore")
    line_end = cut.rfind("\n")
    return cut[: line_end + 1] if line_end > 0 else cut
