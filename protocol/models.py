"""Params, results and notifications of every custom method, camelCase on the wire.

Params reject unknown keys (a typo such as `worksapce` is an error that names the key, not a
silently ignored option). Results are built by the server and dumped with `to_wire()`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

ProgressToken = int | str
MAX_REQUEST_CHARACTERS = 10_000


def _request_text(value: str) -> str:
    """A request says something (spaces alone are as empty as nothing) and fits the limit."""
    if not value.strip():
        raise PydanticCustomError("empty_request", "the request is empty: say what you want")
    if len(value) > MAX_REQUEST_CHARACTERS:
        raise PydanticCustomError(
            "request_too_long",
            "the request is {length} characters long; at most {limit} are accepted",
            {"length": f"{len(value):,}", "limit": f"{MAX_REQUEST_CHARACTERS:,}"},
        )
    return value


RequestText = Annotated[
    str,
    AfterValidator(_request_text),
    Field(
        json_schema_extra={"minLength": 1, "maxLength": MAX_REQUEST_CHARACTERS, "pattern": r"\S"}
    ),
]


class WireModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class WorkspaceParams(WireModel):
    """Every request may name its workspace (a folder path or file URI); default: the LSP root."""

    workspace: str | None = None
    work_done_token: ProgressToken | None = None


# --- shared pieces -------------------------------------------------------------------------------


class FileState(StrEnum):
    PENDING = "pending"
    GENERATING = "generating"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"
    USER_MODIFIED = "userModified"
    DELETED = "deleted"
    CONFLICT = "conflict"


class FileCounts(WireModel):
    """How many planned files are in each state: every state, 0 when none is."""

    pending: int = 0
    generating: int = 0
    done: int = 0
    failed: int = 0
    skipped: int = 0
    user_modified: int = 0
    deleted: int = 0
    conflict: int = 0


class ProblemCounts(WireModel):
    """Problems by severity: both, 0 when there are none."""

    error: int = 0
    warning: int = 0


class Usage(WireModel):
    """Tokens as the provider reported them (estimated when it reported none)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0
    cached_tokens: int = Field(
        default=0,
        description="Prompt tokens the provider served from its prefix cache (cheaper, and not "
        "counted toward rate limits); part of promptTokens.",
    )
    reasoning_tokens: int = Field(
        default=0, description="Completion tokens spent on reasoning; part of completionTokens."
    )

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            calls=self.calls + other.calls,
            cached_tokens=self.cached_tokens + other.cached_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
        )

    def __sub__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens - other.prompt_tokens,
            completion_tokens=self.completion_tokens - other.completion_tokens,
            calls=self.calls - other.calls,
            cached_tokens=self.cached_tokens - other.cached_tokens,
            reasoning_tokens=self.reasoning_tokens - other.reasoning_tokens,
        )

    @property
    def uncached_prompt_tokens(self) -> int:
        return self.prompt_tokens - self.cached_tokens


class FileIssue(WireModel):
    path: str
    reason: str


class CommitInfo(WireModel):
    """The git commit a run made of the files it wrote (setting `git`), or why it made none."""

    sha: str | None = Field(default=None, description="The commit; absent when none was made.")
    message: str
    warning: bool = Field(
        default=False,
        description="True when a commit was due and not made (a hook refused it, a rebase or "
        "merge is in progress, git failed): the files are written, the message says what to do.",
    )


# --- stepforge/plan ------------------------------------------------------------------------------


class PlanParams(WorkspaceParams):
    request: RequestText = Field(description="What to build, in one line (not blank).")


class PlanResult(WireModel):
    project_name: str
    plan: dict[str, Any] = Field(description="The validated plan, as stored in planPath.")
    plan_path: str
    usage: Usage
    attempts: int = Field(description="LLM calls made: 1 plus the re-asks.")
    notes: list[str] = Field(default_factory=list)
    commit: CommitInfo | None = None


# --- stepforge/status ----------------------------------------------------------------------------


class StatusParams(WorkspaceParams):
    pass


class FileStatusEntry(WireModel):
    path: str
    state: FileState
    reason: str | None = None
    attempts: int = 0
    usage: Usage = Field(default_factory=Usage)


class PlanChanges(WireModel):
    """What the current plan adds or drops compared with the files generated so far."""

    added: list[str] = Field(default_factory=list)
    dropped: list[str] = Field(default_factory=list)


class ConflictInfo(WireModel):
    conflict_id: str
    path: str
    created: float


class StatusResult(WireModel):
    workspace: str
    plan_present: bool
    project_name: str | None = None
    plan_path: str | None = None
    plan_error: str | None = Field(
        default=None, description="Why the plan on disk is not usable, when it is not."
    )
    generating: bool = False
    files: list[FileStatusEntry] = Field(default_factory=list)
    counts: FileCounts = Field(default_factory=FileCounts)
    usage: Usage = Field(default_factory=Usage)
    plan_changes: PlanChanges = Field(default_factory=PlanChanges)
    conflicts: list[ConflictInfo] = Field(default_factory=list)
    problems: ProblemCounts | None = Field(
        default=None,
        description="Problems of the last check, by severity; null before the first check.",
    )


# --- problems (stepforge/check, and after generate) ----------------------------------------------


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


class Problem(WireModel):
    """Something wrong in the generated project, where it is (1-based line and column)."""

    path: str = Field(description="Relative to the workspace.")
    line: int = Field(ge=1)
    column: int = Field(default=1, ge=1)
    end_line: int | None = None
    end_column: int | None = None
    severity: Severity = Severity.ERROR
    code: str = Field(
        description="What kind of problem: a tool's code (TS2339, F821) or StepForge's."
    )
    message: str
    source: str = Field(
        description="The check that found it: syntax, imports, packages, contract, "
        "tsc, ruff, python, smoke."
    )


class CheckTier(WireModel):
    """One kind of check: whether it ran, and if not, why."""

    name: str
    ran: bool
    reason: str | None = None
    seconds: float = 0.0


class CheckParams(WorkspaceParams):
    runtime: bool = Field(
        default=False,
        description="Also run the app: the backend's GET endpoints, every page in a browser.",
    )
    tools_runtime: PreviewRuntime | None = Field(
        default=None,
        description="Where the checks that run the project's code (the interpreter, the compiler "
        "with its plugins, the smoke test) run: docker, or local (unsandboxed, on this machine). "
        "Default: the previewRuntime setting; never local unless chosen there or here.",
    )


class PageScreenshot(WireModel):
    """A picture of one planned route as the runtime check saw it in a desktop-wide browser."""

    route: str = Field(description="The route's path, e.g. /tasks.")
    path: str = Field(description="The PNG, workspace-relative: .stepforge/screenshots/tasks.png.")
    page_file: str | None = Field(default=None, description="The file of the route's page.")
    blank: bool = Field(
        default=False, description="Whether the page showed nothing besides the layout."
    )


class CheckResult(WireModel):
    problems: list[Problem]
    tiers: list[CheckTier]
    counts: ProblemCounts = Field(default_factory=ProblemCounts)
    elapsed_seconds: float = 0.0
    complete: bool = Field(
        default=False,
        description="Whether every check that applies ran to the end. False: the project was not "
        "fully checked (`notRun` names the checks, their tiers say why); no problems then does "
        "not mean a clean project.",
    )
    not_run: list[str] = Field(
        default_factory=list, description="The checks that applied but did not run or finish."
    )
    screenshots: list[PageScreenshot] = Field(
        default_factory=list,
        description="With `runtime`: a screenshot of every planned route that loaded.",
    )


# --- stepforge/generate --------------------------------------------------------------------------


class GenerateParams(WorkspaceParams):
    only: list[str] | None = Field(default=None, description="Generate just these planned paths.")
    force: bool = Field(default=False, description="Regenerate files that are already done.")
    concurrency: int | None = Field(default=None, ge=1, le=64)
    single_shot: bool = False
    repair: bool = Field(
        default=True, description="Check the project afterwards and regenerate broken files."
    )
    repair_rounds: int | None = Field(
        default=None,
        ge=0,
        le=10,
        description="Rounds of repair (default: the repairRounds setting).",
    )
    runtime_checks: bool | None = Field(
        default=None,
        description="With repair: also run the behaviour checks against the running backend "
        "where the Docker sandbox is available (default: the runtimeChecks setting).",
    )


class GenerateResult(WireModel):
    written: list[str]
    merged: list[str] = Field(
        default_factory=list, description="Written files merged with the user's edits."
    )
    failed: list[FileIssue]
    skipped: list[FileIssue]
    conflicts: list[ConflictInfo] = Field(default_factory=list)
    usage: Usage
    elapsed_seconds: float
    problems: list[Problem] = Field(
        default_factory=list, description="What the checks still find after repair."
    )
    repaired: list[str] = Field(
        default_factory=list, description="Files regenerated to fix their problems."
    )
    repair_usage: Usage = Field(default_factory=Usage)
    checks: list[CheckTier] = Field(default_factory=list)
    commit: CommitInfo | None = None


# --- stepforge/regenerateFile and stepforge/resolveConflict -------------------------------------


class RegenerateOutcome(StrEnum):
    WRITTEN = "written"
    MERGED = "merged"
    CONFLICT = "conflict"
    UNCHANGED = "unchanged"
    SKIPPED = "skipped"


class RegenerateFileParams(WorkspaceParams):
    path: str = Field(min_length=1)
    instructions: str | None = None
    force: bool = Field(default=False, description="Recreate the file even if the user deleted it.")


class RegenerateFileResult(WireModel):
    path: str
    outcome: RegenerateOutcome
    conflict_id: str | None = None
    message: str
    usage: Usage = Field(default_factory=Usage)
    commit: CommitInfo | None = None


class ResolveConflictParams(WorkspaceParams):
    conflict_id: str = Field(min_length=1)
    choice: Literal["mine", "generated", "merged"]
    content: str | None = Field(default=None, description="The merged text, for choice 'merged'.")


class ResolveConflictResult(WireModel):
    path: str
    choice: Literal["mine", "generated", "merged"]
    message: str
    commit: CommitInfo | None = None


class ConflictDetailsParams(WorkspaceParams):
    conflict_id: str = Field(min_length=1)


class ConflictDetailsResult(WireModel):
    """Both sides of a conflict, so an editor can show a diff before the user chooses."""

    conflict_id: str
    path: str
    mine: str
    generated: str
    base: str


# --- stepforge/change, stepforge/history, stepforge/undo -----------------------------------------


class ChangeParams(WorkspaceParams):
    request: RequestText = Field(
        description='What to change, e.g. "add a favorites page" (not blank).'
    )
    dry_run: bool = Field(default=False, description="Return the delta and change nothing.")
    delta: dict[str, Any] | None = Field(
        default=None,
        description="A delta to apply as it is (from a dry run the user confirmed): no LLM call.",
    )
    repair: bool = True
    repair_rounds: int | None = Field(default=None, ge=0, le=10)
    runtime_checks: bool | None = Field(
        default=None,
        description="With repair: also run the behaviour checks against the running backend "
        "where the Docker sandbox is available (default: the runtimeChecks setting).",
    )
    concurrency: int | None = Field(default=None, ge=1, le=64)


class ChangeResult(WireModel):
    delta: dict[str, Any] = Field(description="The plan delta (as the LLM gave it, validated).")
    dry_run: bool = False
    history_id: int | None = None
    written: list[str] = Field(default_factory=list)
    merged: list[str] = Field(default_factory=list)
    conflicts: list[ConflictInfo] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)
    kept: list[FileIssue] = Field(
        default_factory=list, description="Files to remove that you edited: kept, not removed."
    )
    failed: list[FileIssue] = Field(default_factory=list)
    skipped: list[FileIssue] = Field(default_factory=list)
    problems: list[Problem] = Field(default_factory=list)
    repaired: list[str] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    repair_usage: Usage = Field(default_factory=Usage)
    elapsed_seconds: float = 0.0
    commit: CommitInfo | None = None
    database: str | None = Field(
        default=None,
        description="What the change did to the app's existing database: the migration it "
        "wrote and applied, or why it could not (then also a problem on the model).",
    )


class HistoryParams(WorkspaceParams):
    pass


class HistoryEntry(WireModel):
    id: int
    request: str
    summary: str
    time: float
    status: Literal["applying", "applied", "undone"]
    files: dict[str, str] = Field(description="path -> added, modified or removed")
    kind: str = Field(
        default="change",
        description="The run: plan, generate, change, regenerate, resolve or undo.",
    )
    commit: str | None = Field(default=None, description="Its git commit.")


class HistoryResult(WireModel):
    entries: list[HistoryEntry]


class UndoParams(WorkspaceParams):
    pass


class UndoResult(WireModel):
    id: int
    reverted: list[str]
    kept: list[FileIssue] = Field(
        default_factory=list, description="Files you edited since the change: not touched."
    )
    breaks: dict[str, list[Problem]] = Field(
        default_factory=dict,
        description="For each kept file that now breaks the app: the problems it causes (in it, "
        "or in the files that import it), found by checking the project after the undo.",
    )
    checked: bool = Field(
        default=True,
        description="False when the project could not be checked after the undo (the message "
        "says why): `breaks` is then unknown, not empty.",
    )
    conflicts: list[ConflictInfo] = Field(
        default_factory=list,
        description="Files where your edits and the revert overlap: left as they are; resolve "
        "them like StepForge's other conflicts (generated = the version before the change).",
    )
    message: str
    commit: CommitInfo | None = None
    database: str | None = Field(
        default=None,
        description="What the undo did to the app's database: the change's migration downgraded.",
    )


# --- preview -------------------------------------------------------------------------------------

PreviewRuntime = Literal["docker", "local"]
DatabaseName = Literal["sqlite", "postgres"]


class PreviewStartParams(WorkspaceParams):
    runtime: PreviewRuntime | None = None
    database: DatabaseName | None = Field(
        default=None,
        description="The app's database: sqlite, or postgres (a third container; with the local "
        "runtime, the Postgres DATABASE_URL names). Default: the database setting if set, else "
        "the one the workspace last ran with, else sqlite.",
    )
    detached: bool = Field(
        default=False,
        description="Keep running after this session ends (the headless CLI sets it).",
    )


class PreviewStartResult(WireModel):
    frontend_url: str
    backend_url: str
    runtime: PreviewRuntime
    message: str


class PreviewStopParams(WorkspaceParams):
    pass


class PreviewStopResult(WireModel):
    stopped: bool
    message: str


class PreviewStatusParams(WorkspaceParams):
    pass


class PreviewHealth(WireModel):
    frontend: bool
    backend: bool


class PreviewData(WireModel):
    """Where the app's database lives for a runtime (outside the source folders)."""

    runtime: PreviewRuntime
    database: DatabaseName = "sqlite"
    location: str = Field(
        description="For people: the docker volume, the file's path, or the Postgres URL."
    )
    volume: str | None = Field(default=None, description="The docker volume holding the data.")
    path: str | None = Field(default=None, description="The SQLite file (local runtime).")
    database_url: str = Field(
        description="DATABASE_URL as the backend sees it (a password shown as ***)."
    )
    backups: str = Field(description="Where `preview reset-data` keeps its copies.")
    error: str | None = Field(
        default=None,
        description="Why the running backend cannot use its database (it does not answer, is "
        "not a database, cannot be migrated), from the backend's log; the data is left as it is.",
    )


class PreviewStatusResult(WireModel):
    running: bool
    runtime: PreviewRuntime | None = None
    frontend_url: str | None = None
    backend_url: str | None = None
    health: PreviewHealth | None = None
    detached: bool = False
    data: PreviewData | None = Field(
        default=None, description="Where the app's data is (the runtime it last ran with)."
    )


class PreviewResetDataParams(WorkspaceParams):
    runtime: PreviewRuntime | None = Field(
        default=None,
        description="Whose data to reset; default: the runtime the preview last ran with.",
    )


class PreviewResetDataResult(WireModel):
    reset: bool = Field(description="False: there was no data to reset.")
    backup: str | None = Field(default=None, description="The copy kept: a volume or a folder.")
    restarted: bool = Field(default=False, description="The running preview was restarted.")
    data: PreviewData
    message: str


class PreviewLogsParams(WorkspaceParams):
    lines: int = Field(default=200, ge=1, le=10_000)


class PreviewLogLine(WireModel):
    role: Literal["frontend", "backend", "database"]
    line: str


class PreviewLogsResult(WireModel):
    lines: list[PreviewLogLine]


# --- notifications -------------------------------------------------------------------------------


class FileStatusNotification(WireModel):
    workspace: str
    path: str
    state: FileState
    reason: str | None = None


class PreviewLogNotification(WireModel):
    workspace: str
    role: Literal["frontend", "backend"]
    line: str
