"""One file from one LLM answer: prompt within budget, streamed onto disk, continued when cut off,
stripped of prose, parsed, and written under the never-lose-an-edit rules."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath

import anyio

from protocol.models import FileState, Usage
from protocol.plan import Plan
from server import prompts
from server.checks import api_types
from server.config import Settings
from server.errors import StepForgeError
from server.generation.context import (
    FilePrompt,
    SourceFile,
    build_file_prompt,
    condensed_plan_document,
)
from server.generation.fences import extract_code, partial_code
from server.generation.streaming import StreamingPreview
from server.llm import LLMAuthError, LLMClient, LLMError, LLMModelError
from server.llm.client import MIN_ANSWER_TOKENS
from server.llm.continuation import complete_whole
from server.plan import dag
from server.plan.data_models import tables_note
from server.source.syntax import syntax_problem
from server.workspace.atomic import sha256
from server.workspace.paths import safe_join
from server.workspace.session import WorkspaceSession
from server.workspace.state import COMPLETE_STATES, FileRecord
from server.workspace.writer import WriteOutcome

log = logging.getLogger(__name__)

PACING_MARGIN = 64
CALIBRATION_MARGIN = 1.1


class BadAnswerError(StepForgeError):
    """The answer is not a usable file (does not parse, is empty): worth asking again."""

    def __init__(self, message: str, usage: Usage) -> None:
        super().__init__(message)
        self.usage = usage


@dataclass(frozen=True)
class FileAsk:
    """How to ask for one file, beyond its plan entry."""

    instructions: str | None = None  # the user's, or a repair's problems
    show_current: bool = False  # give the file's current text (the user's edits are kept)
    recreate: bool = False  # write it even if the user deleted it
    also: tuple[str, ...] = ()  # more files to give in full (what it imports in fact)
    lean: bool = False  # no outlines of other files, the plan condensed (a repair's prompt)


@dataclass
class FileResult:
    path: str
    outcome: WriteOutcome
    usage: Usage
    conflict_id: str | None = None


class FileGenerator:
    def __init__(
        self, session: WorkspaceSession, plan: Plan, llm: LLMClient, settings: Settings
    ) -> None:
        self.session = session
        self.plan = plan
        self.llm = llm
        self.settings = settings
        self.dependencies = dag.dependencies(plan)
        self._step_of = {
            path: index for index, files in enumerate(dag.steps(plan)) for path in files
        }
        self._template = prompts.load("file", session.meta)
        self._plan_document = plan.to_document()

    @property
    def output_tokens(self) -> int:
        return self.budgets()[1]

    @property
    def prompt_budget(self) -> int:
        return self.budgets()[0]

    def budgets(self) -> tuple[int, int]:
        """(prompt, output) token budgets: the context window's, shrunk to fit the provider's
        tokens-per-minute limit once it is known (a request above it is refused with a 413)."""
        prompt, output = self.settings.prompt_budget, self.settings.output_reserve
        limit = self.llm.pacer.limit_tokens
        if limit is not None and prompt + output > limit:
            output = min(output, max(MIN_ANSWER_TOKENS, limit // 3))
            prompt = limit - output - PACING_MARGIN
        # Prompts are measured with the byte estimate; what the provider reported so far says how
        # many real tokens an estimated one is (with a margin for files unlike the ones seen).
        real_per_estimated = self.llm.accounting.ratio * CALIBRATION_MARGIN
        return max(1, int(prompt / real_per_estimated)), output

    # --- context -------------------------------------------------------------------------------

    def _written(self) -> list[str]:
        """Planned files complete so far, as recorded (their text is read from disk)."""
        files = self.session.store.state.files
        return [
            p for p in self.plan.file_paths() if p in files and files[p].state in COMPLETE_STATES
        ]

    def _others_order(self, path: str, candidates: list[str]) -> list[str]:
        """Other files by relevance: what the file depends on indirectly first, then files of the
        same area (frontend/backend), nearest step first."""
        ancestors = dag.transitive_dependencies(self.dependencies, path)
        area = PurePosixPath(path).parts[0]
        step = self._step_of.get(path, 0)
        return sorted(
            candidates,
            key=lambda p: (
                p not in ancestors,
                PurePosixPath(p).parts[0] != area,
                abs(step - self._step_of.get(p, 0)),
                p,
            ),
        )

    def _read_sources(self, paths: list[str]) -> list[SourceFile]:
        """Blocking: what is on disk is the truth (a user's edit is what the next file sees)."""
        sources = []
        for path in paths:
            data = self.session.read(path)
            if data is not None:
                sources.append(SourceFile(path, data.decode("utf-8", "replace")))
        return sources

    async def build_prompt(
        self, path: str, ask: FileAsk = FileAsk(), current: str | None = None
    ) -> FilePrompt:
        """The file's prompt: its dependencies (and `ask.also`) in full, outlines of the others."""
        direct = list(dict.fromkeys([*self.dependencies.get(path, []), *ask.also]))
        direct = [p for p in direct if p != path]
        written = [p for p in self._written() if p != path and p not in direct]
        others = [] if ask.lean else self._others_order(path, written)
        request = self.session.store.state.request or ""
        budget = self.prompt_budget
        plan = self._plan_document if not ask.lean else condensed_plan_document(self._plan_document)

        def build() -> FilePrompt:
            # Reading files and outlining them (tree-sitter) is work for a thread, not the loop.
            return build_file_prompt(
                template=self._template,
                path=path,
                plan=plan,
                request=request,
                budget=budget,
                direct=self._read_sources(direct),
                others=self._read_sources(others),
                instructions=ask.instructions,
                current=current,
                tables=tables_note(self.plan, path),
                api_types=api_types.prompt_for(self.session.root, path, current),
            )

        return await anyio.to_thread.run_sync(build)

    # --- one file ------------------------------------------------------------------------------

    async def begin(self, path: str, *, recreate: bool = False) -> InFlight:
        """Mark `path` generating and decide whether its partial answer may be shown on disk."""
        session = self.session
        record = session.store.record(path)
        target = safe_join(session.root, path)
        disk = await anyio.to_thread.run_sync(session.read, path)
        own_partial = is_own_partial(record, disk)
        # Shown in place only where no complete version exists: a new file (never written, or
        # recreated on request) or StepForge's own partial answer. A complete file stays whole
        # until the atomic final write (a kill mid-answer must not leave it cut off).
        owned = (disk is None and (record.written_hash is None or recreate)) or own_partial
        record.attempts += 1
        record.streamed = owned
        if not own_partial:
            record.partial_hashes = []
        await session.transition(path, FileState.GENERATING, f"attempt {record.attempts}")

        async def on_partial(digest: str) -> None:
            # Write-ahead: the hash is saved before the bytes land, and the previous one is kept
            # (the disk holds one or the other when the daemon is killed between the two).
            record.partial_hashes = [*record.partial_hashes[-1:], digest]
            await session.store.save()

        preview = StreamingPreview(target, enabled=owned, original=disk, on_partial=on_partial)
        return InFlight(path, preview, disk, own_partial, recreate)

    async def finish(self, flight: InFlight, answer_code: str, usage: Usage) -> FileResult:
        """Check the code parses and write it; BadAnswerError if it does not (the caller abandons)."""
        path = flight.path
        problem = (
            "the answer holds no code"
            if not answer_code.strip()
            else await anyio.to_thread.run_sync(syntax_problem, path, answer_code)
        )
        if problem:
            raise BadAnswerError(f"{path}: {problem}", usage)
        if flight.preview.wrote:  # the merge base is what was last shown on disk
            base, use_recorded = flight.preview.last_written, False
        elif flight.own_partial:
            base, use_recorded = flight.disk, False
        else:
            base, use_recorded = None, True
        session = self.session
        result = await session.write(
            path,
            answer_code.encode("utf-8"),
            base=base,
            use_recorded_base=use_recorded,
            recreate=flight.recreate,
        )
        record = session.store.record(path)
        record.streamed = False
        record.partial_hashes = []
        session.store.add_usage(path, usage)
        if result.outcome is WriteOutcome.CONFLICT:
            await session.transition(
                path,
                FileState.CONFLICT,
                f"your edits conflict with the new version (conflict {result.conflict_id})",
            )
        elif result.outcome is WriteOutcome.SKIPPED:
            await session.transition(path, FileState.DELETED, "deleted by the user; not recreated")
        else:
            await session.settle(
                path, "merged with your edits" if result.outcome is WriteOutcome.MERGED else None
            )
        outcome = result.outcome
        if outcome is WriteOutcome.UNCHANGED and flight.preview.wrote:
            # The whole answer had already streamed onto disk: the file is new, not unchanged.
            outcome = WriteOutcome.WRITTEN
        log.info(
            "%s: %s (%d+%d tokens)",
            path,
            outcome,
            usage.prompt_tokens,
            usage.completion_tokens,
        )
        return FileResult(path, outcome, usage, result.conflict_id)

    async def abandon(
        self, flight: InFlight, usage: Usage, reason: str = "interrupted before it was complete"
    ) -> None:
        """Undo partial writes and put the file back to pending. Safe inside a cancelled scope."""
        with anyio.CancelScope(shield=True):
            await flight.preview.restore()
            record = self.session.store.record(flight.path)
            # Still StepForge's bytes on disk only if they were before and the user kept out.
            record.streamed = flight.own_partial and not flight.preview.taken_over
            record.partial_hashes = (
                [sha256(flight.disk)] if record.streamed and flight.disk is not None else []
            )
            self.session.store.add_usage(flight.path, usage)
            await self.session.transition(flight.path, FileState.PENDING, reason)

    async def generate(self, path: str, ask: FileAsk = FileAsk()) -> FileResult:
        """Generate `path` with one answer (continued while cut off). Raises BadAnswerError (worth
        asking again), LLM errors or cancellation; the file then leaves `generating`, its partial
        writes undone."""
        current = None
        if ask.show_current:
            data = await anyio.to_thread.run_sync(self.session.read, path)
            current = data.decode("utf-8", "replace") if data is not None else None
        prompt = await self.build_prompt(path, ask, current)
        flight = await self.begin(path, recreate=ask.recreate)
        usage = Usage()
        try:
            completion = await complete_whole(
                self.llm,
                prompt.messages,
                max_tokens=self.output_tokens,
                continuations=self.settings.continuations,
                on_text=lambda answer: flight.preview.show(partial_code(answer)),
            )
            usage = completion.usage
            return await self.finish(flight, extract_code(completion.text), usage)
        except BaseException as error:
            await self.abandon(flight, getattr(error, "usage", usage))
            raise

    async def generate_with_retries(
        self,
        path: str,
        ask: FileAsk = FileAsk(),
        on_attempt: Callable[[int], None] | None = None,
    ) -> FileResult:
        """`generate`, asked again with backoff while the answer is unusable or the LLM failed (the
        result's usage counts every attempt); the last error is raised when the attempts run out. A rejected key, an unknown model or an
        unsafe path is raised at once: asking again cannot help."""
        attempts = self.settings.file_attempts
        spent = Usage()  # answers that were not used count too
        for attempt in range(1, attempts + 1):
            if on_attempt is not None:
                on_attempt(attempt)
            try:
                result = await self.generate(path, ask)
                result.usage = spent + result.usage
                return result
            except (LLMAuthError, LLMModelError):
                raise
            except (BadAnswerError, LLMError) as error:
                spent = spent + getattr(error, "usage", Usage())
                if attempt == attempts:
                    raise
                log.warning("%s: attempt %d/%d failed: %s", path, attempt, attempts, error.message)
                await anyio.sleep(self.settings.retry_backoff * 2 ** (attempt - 1))
        raise AssertionError("unreachable: the last attempt returns or raises")


def is_own_partial(record: FileRecord, disk: bytes | None) -> bool:
    """Whether `disk` is StepForge's own unfinished answer (left by a failed or killed run): its
    hash is one the state recorded before writing it. Nothing else is trusted (a file that
    appeared where a partial was about to go is the user's)."""
    return disk is not None and sha256(disk) in record.partial_hashes


@dataclass
class InFlight:
    """A file being generated: where its partial answer goes and what was on disk before."""

    path: str
    preview: StreamingPreview
    disk: bytes | None
    own_partial: bool
    recreate: bool
