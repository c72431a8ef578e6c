"""What the file prompt tells the model about styling: Tailwind utility classes, the template's
component kit (`frontend/src/components/ui/`) and recharts.

The kit's part is built from the kit's own files (their exports, as the checks see them, and the
usage line each file starts with), so the prompt cannot name a component or a variant the files do
not have. Pure, apart from reading the shipped template once.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

from server.source.typescript import analyze_ts

KIT_DIR = "frontend/src/components/ui/"
UTILS = "frontend/src/lib/utils.ts"

STYLING_RULES = """\
- Styling: Tailwind CSS v4 utility classes in `className` (no CSS files, no inline styles, no
  other CSS library); theme colours through their tokens (`bg-background`, `bg-card`,
  `text-foreground`, `text-muted-foreground`, `bg-primary text-primary-foreground`, `border`,
  `text-destructive`, `bg-muted`) so the light and dark themes both work; layout with flex/grid
  and spacing utilities (`space-y-6`, `gap-4`, `grid gap-4 md:grid-cols-3`). A page starts with
  its title (`<h1 className="text-2xl font-semibold tracking-tight">`) and lays its content out
  in the kit's components below.
- Components: use the app's own kit (import from `@/components/ui/<file>`, exactly these
  exports) before writing raw elements; `cn()` from `@/lib/utils` merges class names:
{kit}
- Charts: recharts 3 (`import {{ ResponsiveContainer, BarChart, Bar, XAxis, YAxis, Tooltip }} from
  "recharts"`), inside a sized parent (`<div className="h-64">`), colours `var(--chart-1)` to
  `var(--chart-5)`.
- Lists show an `EmptyState` when empty and `Skeleton`s while loading; actions report their
  outcome with `toast.success(...)` / `toast.error(...)`."""


def _usage(text: str) -> str:
    """The usage line a kit file starts with (`// Button: variant ...`), without its name."""
    first = text.lstrip().splitlines()[0] if text.strip() else ""
    if not first.startswith("//"):
        return ""
    line = first.removeprefix("//").strip()
    head, sep, rest = line.partition(": ")
    return rest.strip() if sep and " " not in head else line


def kit_summary(files: Mapping[str, str]) -> str:
    """One line per kit file: its import path, its exports, its usage line."""
    lines = []
    for path in sorted(p for p in files if p.startswith(KIT_DIR) and p.endswith((".ts", ".tsx"))):
        module = analyze_ts(path, files[path])
        exports = sorted(set(module.exports), key=lambda name: (not name[:1].isupper(), name))
        if not exports:
            continue
        specifier = "@/" + path.removeprefix("frontend/src/").rsplit(".", 1)[0]
        usage = _usage(files[path])
        lines.append(f"  - `{specifier}`: {', '.join(exports)}" + (f" -- {usage}" if usage else ""))
    return "\n".join(lines)


def ui_rules(files: Mapping[str, str]) -> str:
    """The styling rules with the kit of `files` (workspace-relative paths to texts); empty when
    the project has no kit (an app that is not laid out from this template)."""
    kit = kit_summary(files)
    if not kit:
        return ""
    return STYLING_RULES.format(kit=kit) + "\n"


@cache
def template_ui_rules() -> str:
    """The styling rules for the shipped template's kit (the same text for every prompt of every
    run, which keeps the prompt prefix cacheable)."""
    from server.template import template_bytes, template_paths

    files = {
        path: template_bytes(path).decode("utf-8")
        for path in template_paths()
        if path.startswith(KIT_DIR) or path == UTILS
    }
    return ui_rules(files)
