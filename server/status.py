"""What `stepforge/status` reports, built from a plan, a job state and the files' effective states."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from protocol.models import (
    ConflictInfo,
    FileCounts,
    FileState,
    FileStatusEntry,
    PlanChanges,
    StatusResult,
    Usage,
)
from protocol.plan import Plan
from server.workspace.state import JobState


def plan_changes(plan: Plan, state: JobState) -> PlanChanges:
    """Files the plan adds since the last plan or generation, and generated files it dropped."""
    planned = plan.file_paths()
    if not state.files:
        return PlanChanges()
    return PlanChanges(
        added=[path for path in planned if path not in state.files],
        dropped=sorted(
            path
            for path, record in state.files.items()
            if path not in set(planned) and record.written_hash
        ),
    )


def build_status(
    root: Path,
    plan: Plan | None,
    plan_error: str | None,
    state: JobState,
    effective: dict[str, FileState],
    generating: bool,
) -> StatusResult:
    files = []
    for path, file_state in effective.items():
        record = state.files.get(path)
        files.append(
            FileStatusEntry(
                path=path,
                state=file_state,
                reason=record.reason if record else None,
                attempts=record.attempts if record else 0,
                usage=record.usage if record else Usage(),
            )
        )
    return StatusResult(
        workspace=str(root),
        plan_present=plan is not None,
        project_name=state.project_name or (plan.project_name if plan else None),
        plan_path=str(root / ".stepforge" / "plan.json") if plan is not None else None,
        plan_error=plan_error,
        generating=generating,
        files=files,
        counts=FileCounts.model_validate(Counter(str(s) for s in effective.values())),
        usage=state.usage,
        plan_changes=plan_changes(plan, state) if plan is not None else PlanChanges(),
        conflicts=[
            ConflictInfo(conflict_id=cid, path=c.path, created=c.created)
            for cid, c in sorted(state.conflicts.items(), key=lambda item: item[1].created)
        ],
    )
