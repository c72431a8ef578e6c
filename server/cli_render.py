"""What the `stepforge` command prints: progress (a live rich bar on a terminal, plain lines
otherwise) and human summaries on stdout. With --json only the result goes to stdout."""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console as RichConsole
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from server.client import ProgressCallback

QUIET_INTERVAL = 5.0  # seconds between two "receiving" lines when stderr is a log, not a terminal


def usage_line(usage: dict[str, Any], calls: bool = True) -> str:
    """`1200 prompt (75% cached), 300 completion (100 reasoning) in 4 calls`."""
    prompt = usage.get("promptTokens", 0)
    cached = usage.get("cachedTokens", 0)
    reasoning = usage.get("reasoningTokens", 0)
    text = f"{prompt} prompt"
    if cached:
        text += f" ({100 * cached // max(prompt, 1)}% cached)"
    text += f", {usage.get('completionTokens', 0)} completion"
    if reasoning:
        text += f" ({reasoning} reasoning)"
    if calls:
        text += f" in {usage.get('calls', 0)} calls"
    return text


class Console:
    def __init__(self, json_output: bool = False) -> None:
        self.json_output = json_output
        self.err = RichConsole(stderr=True, highlight=False)
        self.out = RichConsole(highlight=False, soft_wrap=True)
        if not self.out.is_terminal:  # piped: whole paths for scripts, never "frontend/src/…"
            self.out.width = 1_000
        self.live = self.err.is_terminal
        self._bar: Progress | None = None

    # --- progress ------------------------------------------------------------------------------

    @contextmanager
    def progress(self, title: str) -> Iterator[ProgressCallback]:
        if not self.live:
            last: list[str] = []
            receiving = [0.0]

            def plain(kind: str, message: str | None, percentage: int | None) -> None:
                # A line per state change; streaming updates ("Receiving ...") at most every
                # few seconds, so a log holds a handful of lines, not one per chunk.
                if not message:
                    return
                if message.startswith("Receiving"):
                    now = time.monotonic()
                    if now - receiving[0] < QUIET_INTERVAL:
                        return
                    receiving[0] = now
                line = (
                    f"[{percentage:3d}%] {message}"
                    if percentage is not None
                    else f"       {message}"
                )
                if line not in last:
                    last[:] = [line]
                    print(line, file=sys.stderr, flush=True)

            yield plain
            return
        bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[message]}"),
            console=self.err,
            transient=True,
        )
        task = bar.add_task(title, total=100, message="")

        def live(kind: str, message: str | None, percentage: int | None) -> None:
            update: dict[str, Any] = {"message": (message or "")[:70]}
            if percentage is not None:
                update["completed"] = percentage
            bar.update(task, **update)

        self._bar = bar
        with bar:
            yield live
        self._bar = None

    def line(self, text: str) -> None:
        """A line of running commentary (file states, logs) on stderr."""
        if self._bar is not None:
            self._bar.console.print(text, markup=False)
        else:
            print(text, file=sys.stderr, flush=True)

    def notification(self, method: str, params: dict[str, Any]) -> None:
        if method == "window/showMessage":
            self.line(f"stepforge: {params.get('message')}")
        elif method == "stepforge/fileStatus" and params.get("state") in (
            "done",
            "failed",
            "skipped",
            "conflict",
        ):
            reason = f" ({params['reason']})" if params.get("reason") else ""
            self.line(f"  {params['state']:<9} {params['path']}{reason}")

    def error(self, message: str) -> None:
        print(f"stepforge: {message}", file=sys.stderr, flush=True)

    def say(self, text: str = "") -> None:
        if not self.json_output:
            self.out.print(text, markup=False)

    # --- summaries -----------------------------------------------------------------------------

    def plan_summary(self, result: dict[str, Any]) -> None:
        plan = result["plan"]
        files = [f for group in plan.get("files", {}).values() for f in group]
        usage = result.get("usage", {})
        self.say(
            f"Planned {result['projectName']}: {len(files)} files in "
            f"{len(plan.get('implementation_order', []))} steps, {len(plan.get('routes', []))} routes, "
            f"{len(plan.get('api_endpoints', []))} API endpoints."
        )
        for route in plan.get("routes", []):
            self.say(f"  {route['path']:<20} {route['label']} ({route.get('group', 'Overview')})")
        for note in result.get("notes", []):
            self.say(f"  note: {note}")
        self.say(f"Plan: {result['planPath']}")
        self.say(
            f"Tokens: {usage_line(usage, calls=False)} in {result.get('attempts', 1)} attempt(s)."
        )
        self.commit(result)

    def status_table(self, result: dict[str, Any]) -> None:
        if self.json_output:
            return
        if not result.get("planPresent"):
            self.say(
                f"{result['workspace']}: no plan yet."
                + (f"\n{result['planError']}" if result.get("planError") else "")
            )
            return
        self.say(
            f"{result.get('projectName') or result['workspace']}"
            + ("  (generating)" if result.get("generating") else "")
        )
        if result.get("planError"):
            self.say(
                f"plan.json has problems (the last valid plan is used):\n{result['planError']}"
            )
        table = Table(show_header=True, header_style="bold", box=None)
        table.add_column("state")
        table.add_column("file")
        table.add_column("tokens", justify="right")
        table.add_column("note")
        for entry in result.get("files", []):
            usage = entry.get("usage", {})
            tokens = usage.get("promptTokens", 0) + usage.get("completionTokens", 0)
            table.add_row(
                entry["state"], entry["path"], str(tokens or ""), entry.get("reason") or ""
            )
        self.out.print(table)
        counts = Counter(result.get("counts", {}))
        self.say(", ".join(f"{n} {state}" for state, n in sorted(counts.items()) if n))
        changes = result.get("planChanges", {})
        if changes.get("added") or changes.get("dropped"):
            self.say(
                f"Plan changes: {len(changes.get('added', []))} added, {len(changes.get('dropped', []))} dropped."
            )
            for key in ("added", "dropped"):
                for path in changes.get(key, []):
                    self.say(f"  {key:<8}{path}")
        for conflict in result.get("conflicts", []):
            self.say(f"Conflict {conflict['conflictId']}: {conflict['path']}")
        problems = result.get("problems")
        if problems:
            self.say(
                f"Problems (last check): {problems.get('error', 0)} errors, "
                f"{problems.get('warning', 0)} warnings (`stepforge check` lists them)."
            )
        usage = result.get("usage", {})
        self.say(f"Tokens so far: {usage_line(usage)}.")

    def generate_summary(self, result: dict[str, Any]) -> None:
        usage = result.get("usage", {})
        self.say(
            f"Generated {len(result['written'])} files, {len(result['failed'])} failed, "
            f"{len(result['skipped'])} skipped, {len(result.get('conflicts', []))} conflicts "
            f"in {result.get('elapsedSeconds', 0):.1f} s."
        )
        for issue in result["failed"]:
            self.say(f"  failed  {issue['path']}: {issue['reason']}")
        for issue in result["skipped"]:
            self.say(f"  skipped {issue['path']}: {issue['reason']}")
        for conflict in result.get("conflicts", []):
            self.say(
                f"  conflict {conflict['path']} (resolve with conflict id {conflict['conflictId']})"
            )
        self.say(f"Tokens: {usage_line(usage)}.")
        if result.get("repaired"):
            self.say(
                f"Repaired {len(result['repaired'])} file(s): {', '.join(result['repaired'])} "
                f"({usage_line(result.get('repairUsage', {}))})."
            )
        if "problems" in result:
            self.problems(result["problems"], result.get("checks", []))
        self.commit(result)

    def change_summary(self, result: dict[str, Any], delta_shown: bool = False) -> None:
        if not delta_shown:
            self.change_delta(result["delta"])
        if result.get("dryRun"):
            self.say("Dry run: nothing was changed.")
            self.say(f"Tokens: {usage_line(result.get('usage', {}))}.")
            return
        for path in result.get("removed", []):
            self.say(f"  removed {path}")
        for issue in result.get("kept", []):
            self.say(f"  kept    {issue['path']}: {issue['reason']}")
        self.generate_summary(
            {**result, "written": result.get("written", []), "checks": result.get("checks", [])}
        )
        self.say(f"Change {result.get('historyId')} recorded (`stepforge undo` reverts it).")

    def change_delta(self, delta: dict[str, Any]) -> None:
        """What a change will do, file by file (shown before it is applied)."""
        self.say(f"Change: {delta.get('summary') or '(no summary)'}")
        for key, verb in (("add_files", "add"), ("modify_files", "modify")):
            for item in delta.get(key, []):
                detail = item.get("change") or item.get("purpose") or ""
                self.say(f"  {verb:<7} {item['path']}" + (f": {detail}" if detail else ""))
        for path in delta.get("remove_files", []):
            self.say(f"  remove  {path}")
        for route in delta.get("add_routes", []):
            self.say(f"  route   {route['path']} ({route.get('label', '')})")
        for endpoint in delta.get("add_api_endpoints", []):
            self.say(f"  api     {endpoint['method']} {endpoint['path']}")

    def undo_summary(self, result: dict[str, Any]) -> None:
        self.say(result["message"])
        breaks = result.get("breaks") or {}
        for issue in result.get("kept", []):
            path = issue["path"]
            problems = breaks.get(path) or []
            if not problems:
                self.say(f"  kept {path}: {issue['reason']}")
                continue
            self.say(f"  kept {path} (you edited it); it now breaks:")
            for item in problems:
                self.say(
                    f"    {item['path']}:{item['line']}:{item.get('column', 1)}: "
                    f"{item['code']}: {item['message']}"
                )
        for conflict in result.get("conflicts", []):
            self.say(
                f"  conflict {conflict['path']}: your edits overlap the revert; resolve with "
                f"conflict id {conflict['conflictId']} (generated = as before the change)"
            )
        if breaks:
            self.say("Fix those files, or put them back by hand (`stepforge check` re-checks).")
        self.commit(result)

    def history(self, entries: list[dict[str, Any]]) -> None:
        if not entries:
            self.say("No StepForge runs recorded yet.")
        for entry in entries:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(entry["time"]))
            run = f"{entry.get('kind', 'change')} {entry['id']}"
            commit = (entry.get("commit") or "")[:10] or "(no commit)"
            self.say(f"{run:<14} {commit:<11} {when}  {entry['status']:<8} {entry['request']}")
            files = list(entry["files"].items())
            shown = ", ".join(f"{action} {path}" for path, action in files[:8])
            if len(files) > 8:
                shown += f", and {len(files) - 8} more"
            if shown:
                self.say(f"{'':<14} {shown}")

    def commit(self, result: dict[str, Any]) -> None:
        """The run's commit. A commit that was due and not made is not repeated here: the daemon's
        warning (window/showMessage) is already on stderr."""
        commit = result.get("commit")
        if commit and not commit.get("warning"):
            self.say(commit["message"])

    def problems(self, problems: list[dict[str, Any]], tiers: list[dict[str, Any]]) -> None:
        """Problems as `path:line:column: severity code message [source]`, then the tiers."""
        for item in problems:
            self.say(
                f"{item['path']}:{item['line']}:{item.get('column', 1)}: {item['severity']} "
                f"{item['code']}: {item['message']} [{item['source']}]"
            )
        not_run = [tier for tier in tiers if not tier.get("ran")]
        for tier in not_run:
            self.say(f"  not checked: {tier['name']}: {tier.get('reason')}")
        errors = sum(1 for p in problems if p["severity"] == "error")
        counted = f"{errors} errors, {len(problems) - errors} warnings"
        if not_run:
            # Never "No problems found" for a project that was not fully checked.
            names = ", ".join(tier["name"] for tier in not_run)
            self.say(
                f"Not fully checked: {names} did not run (see above). "
                + (f"{counted} in what was checked." if problems else "No problems in what ran.")
            )
        elif problems:
            self.say(f"{counted}.")
        else:
            self.say("No problems found.")

    def preview_status(self, result: dict[str, Any]) -> None:
        data = result.get("data")
        if not result.get("running"):
            self.say("No preview is running.")
            if data:
                self.say(f"Data:     {data['location']} (when it runs with {data['runtime']})")
            if data and data.get("error"):  # e.g. its Postgres stopped under the servers
                self.say(f"Problem:  {data['error']}")
            return
        health = result.get("health") or {}
        state = {True: "answers", False: "does not answer"}
        self.say(
            f"Preview running ({result['runtime']}{', detached' if result.get('detached') else ''})"
        )
        self.say(f"Frontend: {result['frontendUrl']} ({state[bool(health.get('frontend'))]})")
        self.say(f"Backend:  {result['backendUrl']} ({state[bool(health.get('backend'))]})")
        if data:
            self.say(f"Data:     {data['location']} ({data['database']})")
            if data.get("error"):
                self.say(f"Problem:  {data['error']}")
