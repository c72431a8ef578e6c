"""Generation: each planned file from its own LLM call, in dependency order, streamed to disk."""
