"""Project names: a short slug from the plan's `project_name`, else from the request's words."""

from __future__ import annotations

import re
import unicodedata

MAX_SLUG = 40
_FILLER = {
    "a",
    "an",
    "the",
    "me",
    "us",
    "my",
    "our",
    "i",
    "we",
    "please",
    "build",
    "create",
    "make",
    "write",
    "generate",
    "want",
    "need",
    "would",
    "like",
    "to",
    "some",
    "simple",
    "new",
    "just",
}
# Words after which the request describes details rather than the app itself.
_BREAK = {
    "with",
    "that",
    "which",
    "where",
    "for",
    "using",
    "including",
    "featuring",
    "to",
    "in",
    "on",
}


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(slug) > MAX_SLUG:
        slug = slug[:MAX_SLUG].rsplit("-", 1)[0]
    return slug


def usable(slug: str) -> bool:
    return 2 <= len(slug) <= MAX_SLUG and slug[0].isalpha()


def name_from_request(request: str) -> str:
    """ "Build me a task management app with charts" -> "task-management-app"."""
    words = re.findall(r"[A-Za-z0-9]+", request.lower())
    while words and words[0] in _FILLER:
        words.pop(0)
    kept: list[str] = []
    for word in words:
        if word in _BREAK and kept:
            break
        if word not in _FILLER:
            kept.append(word)
        if len(kept) == 4:
            break
    slug = slugify(" ".join(kept))
    return slug if usable(slug) else "app"


def project_name(plan_name: str | None, request: str) -> str:
    slug = slugify(plan_name or "")
    return slug if usable(slug) else name_from_request(request)
