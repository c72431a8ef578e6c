"""Token accounting from what the provider reports: calibrated estimates and predicted cache hits.

- Estimates: no tokenizer can be fetched offline, so prompts are estimated from their bytes
  (`estimate_tokens`, pessimistic on purpose). The ratio of reported to estimated prompt tokens
  seen in this run corrects it, so budgets stop being needlessly small.
- Prefix caching: Groq serves the part of a prompt that starts with the same bytes as an earlier
  one from its cache; those tokens do not count toward the rate limits. The pacer budgets only what
  counts, so the share a prompt shares with earlier ones is predicted (longest common prefix),
  scaled by how much of such a prefix the provider has actually reported as cached so far (zero
  until it reports any: a provider without caching is never over-booked).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from protocol.models import Usage
from server.llm.tokens import estimate_tokens

RECENT_PROMPTS = 64
MIN_RATIO, MAX_RATIO = 0.3, 2.0


def common_prefix_length(a: str, b: str) -> int:
    """How many leading characters two strings share (compared in blocks, then narrowed)."""
    limit = min(len(a), len(b))
    low, block = 0, 4096
    while low < limit and a[low : low + block] == b[low : low + block]:
        low += block
    high = min(low + block, limit)
    while low < high and a[low] == b[low]:
        low += 1
    return min(low, limit)


@dataclass(frozen=True)
class Prediction:
    text: str
    estimated: int  # the raw byte estimate
    prompt_tokens: int  # calibrated
    cached_tokens: int  # expected from the prefix cache

    @property
    def counted(self) -> int:
        """The prompt tokens expected to count toward the rate limit."""
        return self.prompt_tokens - self.cached_tokens


class PromptAccounting:
    def __init__(self) -> None:
        self.ratio = 1.0  # reported / estimated prompt tokens
        self.cache_hit = 0.0  # reported cached / predicted shared prefix tokens
        self._recent: deque[str] = deque(maxlen=RECENT_PROMPTS)
        self._observed = 0

    def calibrated(self, estimated: int) -> int:
        return max(1, round(estimated * self.ratio))

    def shared_prefix(self, text: str) -> str:
        best = max((common_prefix_length(earlier, text) for earlier in self._recent), default=0)
        return text[:best]

    def predict(self, text: str) -> Prediction:
        estimated = estimate_tokens(text)
        shared = self.calibrated(estimate_tokens(self.shared_prefix(text))) if self._recent else 0
        return Prediction(
            text=text,
            estimated=estimated,
            prompt_tokens=self.calibrated(estimated),
            cached_tokens=int(shared * self.cache_hit),
        )

    def observe(self, prediction: Prediction, usage: Usage, reported: bool) -> None:
        """Learn from one answered call (`reported`: the usage came from the provider)."""
        if reported and usage.prompt_tokens > 0 and prediction.estimated > 0:
            sample = min(MAX_RATIO, max(MIN_RATIO, usage.prompt_tokens / prediction.estimated))
            weight = 1.0 if self._observed == 0 else 0.3
            self.ratio = (1 - weight) * self.ratio + weight * sample
            self._observed += 1
            shared = estimate_tokens(self.shared_prefix(prediction.text)) * self.ratio
            if shared >= 1:
                hit = min(1.0, usage.cached_tokens / shared)
                self.cache_hit = hit if self.cache_hit == 0.0 else 0.7 * self.cache_hit + 0.3 * hit
        self._recent.append(prediction.text)
