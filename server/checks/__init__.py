"""Checking a generated project: syntax, cross-file imports and packages, the plan's contract
(pure), the real tools (ruff, tsc, the interpreter), and the running app (smoke). Each check
returns problems (path, place, code, message); `service.Checker` runs the tiers."""
