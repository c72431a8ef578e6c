"""The plan's low layer, used by planning, workspace, generation, checks and change alike: path
rules, validation, and the dependency graph. Pure: no I/O, no LLM."""
