"""Planning: ask the LLM for a plan, parse it, validate it, re-ask with the problems, store it."""
