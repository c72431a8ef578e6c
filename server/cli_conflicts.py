"""A conflict as the command line shows it: what you changed and what StepForge proposed, each
as a unified diff against the version both started from (the base)."""

from __future__ import annotations

import difflib
from typing import Any


def side_diff(base: str, text: str, path: str, label: str) -> str:
    lines = difflib.unified_diff(
        base.splitlines(keepends=True),
        text.splitlines(keepends=True),
        fromfile=f"{path} (base: as generated before)",
        tofile=f"{path} ({label})",
    )
    shown = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    return shown or f"(no difference: {label} is the base)\n"


def conflict_text(details: dict[str, Any]) -> str:
    """Both sides of one conflict, then how to settle it."""
    path, conflict_id = details["path"], details["conflictId"]
    return "".join(
        [
            f"Conflict {conflict_id} in {path}\n\n",
            "Your edits (mine):\n",
            side_diff(details["base"], details["mine"], path, "mine"),
            "\nStepForge's proposal (generated):\n",
            side_diff(details["base"], details["generated"], path, "generated"),
            f"\nSettle it: stepforge resolve {conflict_id} --choice mine|generated, "
            "or --choice merged --content-file FILE",
        ]
    )
