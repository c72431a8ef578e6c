"""The repair loop: check, regenerate the files with error problems, check again, for at most
`rounds` rounds. Only files with problems are asked again; a file whose problems did not change
after it was asked is not asked again; files the user changed are merged (a conflict is left to
the user, never clobbered); files that are not StepForge's (the template's, deleted ones, open
conflicts) are reported, not regenerated. Problems that a file in conflict causes in the files
importing it (see `server.repair.causes`) point at the conflict and send nothing to repair: an
LLM must not rewrite good files around a file the user has to settle first."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import anyio

from protocol.models import ConflictInfo, FileState, Problem, Usage
from protocol.plan import Plan
from server.checks.problems import by_file, errors
from server.checks.service import Checker, CheckReport
from server.config import Settings
from server.generation.generator import BadAnswerError, FileAsk, FileGenerator
from server.llm import LLMAuthError, LLMClient, LLMError, LLMModelError
from server.progress import Progress
from server.repair.causes import cause_of
from server.repair.instructions import imported_files, problem_signature, repair_instructions
from server.template.install import register
from server.workspace.session import WorkspaceSession
from server.workspace.writer import WriteOutcome

log = logging.getLogger(__name__)

REPAIRABLE_STATES = frozenset({FileState.DONE, FileState.USER_MODIFIED, FileState.FAILED})


@dataclass
class RepairOutcome:
    report: CheckReport
    repaired: list[str] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    conflicts: list[ConflictInfo] = field(default_factory=list)
    rounds: int = 0


class Repairer:
    def __init__(
        self,
        session: WorkspaceSession,
        plan: Plan,
        llm: LLMClient,
        settings: Settings,
        checker: Checker,
        progress: Progress,
        concurrency: int,
        behaviour_checks: bool = False,
    ) -> None:
        self.behaviour_checks = behaviour_checks  # the running backend is checked too
        self.session = session
        self.plan = plan
        self.generator = FileGenerator(session, plan, llm, settings)
        self.checker = checker
        self.progress = progress
        self.concurrency = concurrency

    @property
    def root(self) -> Path:
        return self.session.root

    def _in_conflict(self) -> set[str]:
        state = self.session.store.state
        return {c.path for c in state.conflicts.values()} | {
            path for path, record in state.files.items() if record.state == FileState.CONFLICT
        }

    def _not_caused_by_conflicts(self, report: CheckReport) -> list[Problem]:
        """The error problems worth repairing: those no file in conflict causes."""
        conflicted = self._in_conflict()
        found = errors(report.problems)
        if not conflicted or report.project is None:
            return found
        project = report.project
        return [p for p in found if cause_of(project, p, conflicted) is None]

    def _point_at_conflicts(self, report: CheckReport) -> None:
        """Say in each problem a file in conflict causes that the conflict is where to look."""
        conflicted = self._in_conflict()
        if not conflicted or report.project is None:
            return
        ids = {c.path: cid for cid, c in self.session.store.state.conflicts.items()}
        for index, problem in enumerate(report.problems):
            culprit = cause_of(report.project, problem, conflicted)
            if culprit is None:
                continue
            which = f"conflict {ids[culprit]}" if culprit in ids else "a conflict"
            report.problems[index] = problem.model_copy(
                update={
                    "message": f"{problem.message} (caused by {culprit}, which is in {which}: "
                    "settle it first; this file is not regenerated for it)"
                }
            )

    def _repairable(self, path: str) -> bool:
        record = self.session.store.state.files.get(path)
        return (
            path in self.plan.file_paths()
            and record is not None
            and record.state in REPAIRABLE_STATES
        )

    async def run(self, rounds: int) -> RepairOutcome:
        """Only while holding the workspace lock."""
        self.progress.report("Checking the generated project", 92)
        outcome = RepairOutcome(
            await self.checker.check(self.root, self.plan, behaviour_checks=self.behaviour_checks)
        )
        asked: dict[str, frozenset[tuple[str, str]]] = {}
        for number in range(1, rounds + 1):
            broken = by_file(self._not_caused_by_conflicts(outcome.report))
            chosen = {
                path: problems
                for path, problems in broken.items()
                if self._repairable(path) and asked.get(path) != problem_signature(problems)
            }
            if not chosen:
                break
            outcome.rounds = number
            self.progress.report(
                f"Repair round {number}/{rounds}: regenerating {len(chosen)} file(s) with problems",
                93,
            )
            project = outcome.report.project
            assert project is not None
            limiter = anyio.CapacityLimiter(self.concurrency)
            async with anyio.create_task_group() as group:
                for path, problems in sorted(chosen.items()):
                    asked[path] = problem_signature(problems)
                    group.start_soon(
                        self._repair_one,
                        path,
                        repair_instructions(project, path, problems),
                        imported_files(project, path),
                        limiter,
                        outcome,
                    )
            self.progress.report(f"Checking again after repair round {number}", 96)
            outcome.report = await self.checker.check(
                self.root, self.plan, behaviour_checks=self.behaviour_checks
            )
        self._point_at_conflicts(outcome.report)
        return outcome

    async def _repair_one(
        self,
        path: str,
        instructions: str,
        context: list[str],
        limiter: anyio.CapacityLimiter,
        outcome: RepairOutcome,
    ) -> None:
        async with limiter:
            try:
                result = await self.generator.generate_with_retries(
                    path,
                    FileAsk(
                        instructions=instructions,
                        show_current=True,
                        also=tuple(context),
                        lean=True,
                    ),
                )
            except (LLMAuthError, LLMModelError):
                raise
            except (BadAnswerError, LLMError) as error:
                outcome.usage = outcome.usage + getattr(error, "usage", Usage())
                log.warning("repair of %s failed: %s", path, error.message)
                await self.session.settle(path, f"repair failed: {error.message}")
                return
            except OSError as error:
                log.warning("repair of %s could not write: %s", path, error)
                return
        outcome.usage = outcome.usage + result.usage
        if result.outcome is WriteOutcome.CONFLICT and result.conflict_id:
            outcome.conflicts.append(
                ConflictInfo(conflict_id=result.conflict_id, path=path, created=time.time())
            )
        elif result.outcome in (WriteOutcome.WRITTEN, WriteOutcome.MERGED):
            outcome.repaired.append(path)


async def check_and_repair(
    session: WorkspaceSession,
    plan: Plan,
    llm: LLMClient,
    settings: Settings,
    checker: Checker,
    progress: Progress,
    *,
    rounds: int,
    concurrency: int,
    runtime_checks: bool | None = None,
) -> RepairOutcome:
    """After files were generated: check the project, regenerate the files with problems for up
    to `rounds` rounds (0: check only), register what changed. Only while holding the lock.
    With repair on and `runtime_checks` (default: the setting), the behaviour tier runs too
    where the Docker sandbox is available: it needs no choice of the user's to run sandboxed."""
    wanted = settings.runtime_checks if runtime_checks is None else runtime_checks
    behaviour_checks = rounds > 0 and wanted and await checker.sandbox_available()
    repairer = Repairer(
        session, plan, llm, settings, checker, progress, concurrency, behaviour_checks
    )
    outcome = await repairer.run(rounds)
    if outcome.repaired:
        await register(session, plan)
    return outcome
