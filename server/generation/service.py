"""A generation run: every planned file not done yet, in dependency order, independent files in
parallel (bounded by the run's concurrency and by the provider's rate limits), failed files retried
with backoff, their dependents skipped, and an optional single-shot pass first. Given a types
refresh, the frontend files that call the API wait for the run's backend files and one refresh of
the backend's API as TypeScript types (`types_step`), so their prompt carries the types."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import anyio
from anyio.streams.memory import MemoryObjectSendStream

from protocol.errors import ErrorCode
from protocol.models import ConflictInfo, FileIssue, FileState, GenerateResult, Usage
from protocol.plan import Plan
from server import prompts
from server.config import Settings
from server.errors import ConfigurationError, StepForgeError, UnsafePathError
from server.generation import types_step
from server.generation.context import compact_plan
from server.generation.generator import (
    BadAnswerError,
    FileAsk,
    FileGenerator,
    FileResult,
    InFlight,
)
from server.generation.xmlstream import FileBlockParser, FileEnded, FileStarted, FileText
from server.llm import ChatMessage, LLMAuthError, LLMClient, LLMError, LLMModelError
from server.llm.client import MIN_ANSWER_TOKENS
from server.llm.tokens import estimate_tokens
from server.plan import dag
from server.progress import Progress
from server.prompts.ui_kit import template_ui_rules
from server.workspace.session import WorkspaceSession, derive_state
from server.workspace.state import COMPLETE_STATES
from server.workspace.writer import WriteOutcome

log = logging.getLogger(__name__)

FATAL_ERRORS = (ConfigurationError, LLMAuthError, LLMModelError)
FileDone = Callable[[str], Awaitable[None]]
TypesRefresh = Callable[[], Awaitable[object]]


@dataclass
class RunOptions:
    only: list[str] | None = None
    force: bool = False
    concurrency: int = 4
    single_shot: bool = False


@dataclass
class _Tally:
    written: list[str] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)
    failed: list[FileIssue] = field(default_factory=list)
    skipped: list[FileIssue] = field(default_factory=list)
    conflicts: list[ConflictInfo] = field(default_factory=list)

    def record(self, result: FileResult) -> None:
        if result.outcome is WriteOutcome.CONFLICT and result.conflict_id:
            self.conflicts.append(
                ConflictInfo(conflict_id=result.conflict_id, path=result.path, created=time.time())
            )
        elif result.outcome is WriteOutcome.SKIPPED:
            self.skipped.append(
                FileIssue(path=result.path, reason="deleted by the user; not recreated")
            )
        else:
            self.written.append(result.path)
            if result.outcome is WriteOutcome.MERGED:
                self.merged.append(result.path)


class GenerationRun:
    def __init__(
        self,
        session: WorkspaceSession,
        plan: Plan,
        llm: LLMClient,
        settings: Settings,
        progress: Progress,
        options: RunOptions,
        on_file_done: FileDone | None = None,
        refresh_types: TypesRefresh | None = None,
    ) -> None:
        """`refresh_types`: writes the backend's API as TypeScript types (never raises for types
        it cannot have); given, the frontend files that call the API wait for it (`types_step`)."""
        self.refresh_types = refresh_types
        self.session = session
        self.plan = plan
        self.llm = llm
        self.settings = settings
        self.progress = progress
        self.options = options
        self.on_file_done = on_file_done
        self.generator = FileGenerator(session, plan, llm, settings)
        self.dependencies = dag.dependencies(plan)
        self.tally = _Tally()
        self._total = 0
        self._finished = 0

    # --- which files -----------------------------------------------------------------------------

    def _targets(self) -> list[str]:
        paths = self.plan.file_paths()
        if self.options.only:
            unknown = [p for p in self.options.only if p not in paths]
            if unknown:
                raise StepForgeError(
                    f"Not in the plan: {', '.join(unknown)}. Planned files are listed in .stepforge/plan.json.",
                    code=ErrorCode.FILE_NOT_PLANNED,
                )
        chosen = set(self.options.only or paths)
        state = self.session.store.state.files
        return [
            p
            for p in paths
            if p in chosen
            and (self.options.force or p not in state or state[p].state not in COMPLETE_STATES)
        ]

    def _refresh_derived_states(self) -> None:
        """Blocking: bring done/userModified/deleted up to date with the disk before deciding."""
        for path, record in self.session.store.state.files.items():
            record.state = derive_state(record, self.session.disk_hash(path))

    # --- the run ---------------------------------------------------------------------------------

    async def run(self) -> GenerateResult:
        started = time.monotonic()
        # Every call is accounted in the state, failed attempts included: the run's usage is what
        # the state gained while it ran.
        usage_before = self.session.store.state.usage
        await anyio.to_thread.run_sync(self._refresh_derived_states)
        targets = self._targets()
        self._total = len(targets)
        self.llm.set_concurrency(self.options.concurrency)
        self.progress.report(
            f"{len(targets)} files to generate" if targets else "Nothing to generate", 0
        )
        if targets and self.options.single_shot:
            done = await self._single_shot(targets)
            targets = [p for p in targets if p not in done]
        if targets:
            try:
                await self._schedule(targets)
            except BaseExceptionGroup as group:
                raise _first_meaningful(group) from None
        self.progress.report(
            f"{self._finished}/{self._total} files", 100
        )  # the final count, always sent
        return GenerateResult(
            written=self.tally.written,
            merged=self.tally.merged,
            failed=self.tally.failed,
            skipped=self.tally.skipped,
            conflicts=self.tally.conflicts,
            usage=self.session.store.state.usage - usage_before,
            elapsed_seconds=round(time.monotonic() - started, 3),
        )

    async def _schedule(self, targets: list[str]) -> None:
        waiting = set(targets)
        running: set[str] = set()
        files = self.session.store.state.files
        complete = {
            p
            for p in self.plan.file_paths()
            if p not in waiting and p in files and files[p].state in COMPLETE_STATES
        }
        limiter = anyio.CapacityLimiter(self.options.concurrency)
        send, receive = anyio.create_memory_object_stream[tuple[str, bool]](math.inf)
        types = (
            types_step.plan_step(self.plan, targets, self.dependencies)
            if self.refresh_types is not None
            else None
        )
        settled: set[str] = set()  # written, failed or skipped: what the types step waits for

        async with anyio.create_task_group() as group:

            def launch_ready() -> None:
                for path in targets:
                    if (
                        path in waiting
                        and all(dep in complete for dep in self.dependencies[path])
                        and (types is None or types.lets(path))
                    ):
                        waiting.discard(path)
                        running.add(path)
                        group.start_soon(self._one, path, limiter, send)
                if types is not None and types.due(settled, waiting, running):
                    types.started = True
                    running.add(types_step.NAME)
                    group.start_soon(self._refresh_types, send)

            launch_ready()
            while running:
                path, ok = await receive.receive()
                running.discard(path)
                settled.add(path)
                if path == types_step.NAME:
                    assert types is not None
                    types.done = True
                elif ok:
                    complete.add(path)
                else:
                    for dependent in sorted(
                        dag.transitive_dependents(self.dependencies, {path}) & waiting
                    ):
                        waiting.discard(dependent)
                        settled.add(dependent)
                        await self._skip(dependent, f"dependency failed: {path}")
                launch_ready()
        for path in [p for p in targets if p in waiting]:
            blocking = [d for d in self.dependencies[path] if d not in complete]
            await self._skip(path, f"depends on {', '.join(blocking)}, which is not generated")

    async def _refresh_types(self, done: MemoryObjectSendStream[tuple[str, bool]]) -> None:
        assert self.refresh_types is not None
        try:
            self.progress.report(
                "Writing the frontend's types from the backend's API", self._percentage()
            )
            await self.refresh_types()
        finally:
            done.send_nowait((types_step.NAME, True))

    async def _skip(self, path: str, reason: str) -> None:
        self.tally.skipped.append(FileIssue(path=path, reason=reason))
        self._finished += 1
        await self.session.transition(path, FileState.SKIPPED, reason)

    async def _one(
        self,
        path: str,
        limiter: anyio.CapacityLimiter,
        done: MemoryObjectSendStream[tuple[str, bool]],
    ) -> None:
        ok = False
        try:
            async with limiter:
                ok = await self._with_retries(path)
        finally:
            done.send_nowait((path, ok))

    def _ask(self, path: str) -> FileAsk:
        """A file a change modifies carries the change's instructions (kept in the state, so a
        killed run resumes with them) and is shown as it is now, the user's edits included."""
        record = self.session.store.record(path)
        if record.instructions:
            return FileAsk(
                instructions=record.instructions, show_current=True, recreate=self.options.force
            )
        return FileAsk(recreate=self.options.force)

    async def _with_retries(self, path: str) -> bool:
        try:
            result = await self.generator.generate_with_retries(
                path,
                self._ask(path),
                on_attempt=lambda _: self.progress.report(f"Generating {path}", self._percentage()),
            )
        except FATAL_ERRORS:
            raise
        except (BadAnswerError, LLMError, UnsafePathError) as error:
            await self._fail(path, error.message)
            return False
        except OSError as error:  # this file's disk trouble (a name too long, a full disk)
            await self._fail(path, f"{path}: could not be written ({error.strerror or error})")
            return False
        self.session.store.record(path).instructions = None
        self._count_written(result)
        if self.on_file_done is not None:
            await self.on_file_done(path)
        return True

    async def _fail(self, path: str, reason: str) -> None:
        self.tally.failed.append(FileIssue(path=path, reason=reason))
        self._finished += 1
        self.session.failed(path, reason)
        await self.session.transition(path, FileState.FAILED, reason)

    def _count_written(self, result: FileResult) -> None:
        self.tally.record(result)
        self._finished += 1
        self.progress.report(
            f"{self._finished}/{self._total} {result.outcome} {result.path}", self._percentage()
        )

    def _percentage(self) -> int:
        return 100 * self._finished // self._total if self._total else 100

    # --- single shot -----------------------------------------------------------------------------

    async def _single_shot(self, targets: list[str]) -> set[str]:
        """Ask for the whole app in one answer, writing each <file> block as it arrives. Returns
        the files it completed; the rest is left to the scheduler."""
        wanted = set(targets)
        completed: set[str] = set()
        flights: dict[str, InFlight] = {}
        texts: dict[str, list[str]] = {}
        parser = FileBlockParser()
        seen = 0
        template = prompts.load("single_shot", self.session.meta)
        user = prompts.render(
            template,
            {
                "plan": compact_plan(self.plan.to_document()),
                "request": self.session.store.state.request or "",
                "ui": template_ui_rules(),
            },
        )
        messages: list[ChatMessage] = [
            {"role": "system", "content": prompts.APP_WRITER_SYSTEM},
            {"role": "user", "content": user},
        ]
        max_tokens = min(
            self.settings.max_output_tokens,
            self.settings.context_window - estimate_tokens(user) - 64,
        )
        self.progress.report("Asking for the whole app in one answer", 0)

        async def abandon_open(reason: str) -> None:
            for path in list(flights):
                await self.generator.abandon(flights.pop(path), Usage(), reason)
            texts.clear()

        async def on_text(answer: str) -> None:
            nonlocal parser, seen
            if len(answer) < seen:  # the stream restarted after a drop: start over
                await abandon_open("the stream restarted")
                parser, seen = FileBlockParser(), 0
            events = parser.feed(answer[seen:])
            seen = len(answer)
            for event in events:
                if isinstance(event, FileStarted):
                    if (
                        event.path in wanted
                        and event.path not in completed
                        and event.path not in flights
                    ):
                        flights[event.path] = await self.generator.begin(
                            event.path, recreate=self.options.force
                        )
                        texts[event.path] = []
                elif isinstance(event, FileText) and event.path in flights:
                    texts[event.path].append(event.text)
                    await flights[event.path].preview.show("".join(texts[event.path]))
                elif isinstance(event, FileEnded) and event.path in flights:
                    flight = flights.pop(event.path)
                    code = "".join(texts.pop(event.path))
                    try:
                        result = await self.generator.finish(flight, code, Usage())
                    except BadAnswerError as error:
                        await self.generator.abandon(flight, Usage(), error.message)
                        continue
                    completed.add(event.path)
                    self._count_written(result)

        try:
            completion = await self.llm.complete(
                messages,
                max_tokens=max(MIN_ANSWER_TOKENS, max_tokens),
                purpose="file",
                on_text=on_text,
            )
            self.session.store.add_usage(None, completion.usage)
            if completion.truncated:
                log.info(
                    "single-shot answer cut off after %d files; the rest goes file by file",
                    len(completed),
                )
        except FATAL_ERRORS:
            raise
        except LLMError as error:
            log.warning("single-shot answer failed (%s); generating file by file", error.message)
        finally:
            await abandon_open("the single-shot answer stopped before this file was complete")
        if self.on_file_done is not None:
            for path in sorted(completed):
                await self.on_file_done(path)
        return completed


def _first_meaningful(group: BaseExceptionGroup) -> BaseException:
    """A task group wraps a failure in an exception group; the user needs the failure itself."""
    for error in group.exceptions:
        if isinstance(error, BaseExceptionGroup):
            return _first_meaningful(error)
        if isinstance(error, StepForgeError):
            return error
    return group.exceptions[0]
