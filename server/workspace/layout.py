"""What StepForge keeps under `.stepforge/`: names relative to that folder, read and written only
through `MetaFiles` (which never follows a link)."""

PLAN = "plan.json"
PLAN_PREVIOUS = "plan.previous.json"
STATE = "state.json"
PROMPTS = "prompts"
PREVIEW = "preview.json"
LOGS = "logs"
PROBLEMS = "problems.json"
HISTORY = "history"
