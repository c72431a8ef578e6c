"""The environment of every program StepForge starts (package managers, linters, git, the local
preview's servers, the browser of the smoke test): the daemon's own, minus every secret.

What a tool does is often decided by code StepForge does not control (a package's build hooks, a
repository's npm scripts, the generated app itself), so no tool ever sees the LLM's API key, the
TCP token, or anything that looks like a credential. Registry and proxy settings (`UV_INDEX_URL`,
`npm_config_registry`, `HTTPS_PROXY`, `SSL_CERT_FILE`) are not secrets and pass through, so the
tools reach the same registries the user configured.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from server.logs import holds_secret

# StepForge's own and the LLM provider's variables: the daemon reads them, no tool needs them.
SECRET_PREFIXES = ("GROQ_", "STEPFORGE_")
# Parts of a variable's name that mark a credential (compared upper-cased): `OPENAI_API_KEY`,
# `GITHUB_TOKEN`, `npm_config__authToken`, `AWS_SECRET_ACCESS_KEY`, `PGPASSWORD`, ...
SECRET_MARKS = (
    "API_KEY",
    "APIKEY",
    "TOKEN",
    "SECRET",
    "PASSWORD",
    "PASSWD",
    "CREDENTIAL",
    "PRIVATE_KEY",
    "ACCESS_KEY",
)


def is_secret_name(name: str) -> bool:
    """Whether an environment variable's name says it holds a secret (or belongs to StepForge)."""
    upper = name.upper()
    return upper.startswith(SECRET_PREFIXES) or any(mark in upper for mark in SECRET_MARKS)


def tool_environment(
    extra: Mapping[str, str] | None = None, *, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment for a program StepForge starts: `base` (the daemon's environment) without
    any variable whose name marks a secret or whose value holds a secret StepForge knows (the API
    key, whatever variable it came in), then `extra` (the caller's own settings for the tool)."""
    source = os.environ if base is None else base
    env = {
        name: value
        for name, value in source.items()
        if not is_secret_name(name) and not holds_secret(value)
    }
    env.update(extra or {})
    return env
