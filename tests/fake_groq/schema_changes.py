"""Scripted follow-up requests that alter the task manager's `task` table, for the migration
tests: it adds fields an existing row can take (an optional note, a flag with a default) and
touches only the model file. `PRIORITY_LINES`: a required field without a default (which no
migration can fill in)."""

from __future__ import annotations

import json
from typing import Any

from tests.fake_groq.responders import AppResponder
from tests.fake_groq.server import ChatRequest

MODEL = "backend/models/task.py"
ID_LINE = "    id: int | None = Field(default=None, primary_key=True)\n"

NOTES_REQUEST = "let me add a note to a task and pin tasks"
NOTES_INSTRUCTIONS = "add `note: str | None = None` and `pinned: bool = False` to Task"
NOTES_LINES = "    note: str | None = None\n    pinned: bool = False\n"

PRIORITY_LINES = "    priority: int\n"

TASK_FIELDS = [
    {"name": "title", "type": "str", "required": True},
    {"name": "project_id", "type": "int | None", "required": False},
    {"name": "status", "type": "todo|doing|done", "required": False},
    {"name": "due", "type": "date | None", "required": False},
]


def _delta(summary: str, instructions: str, fields: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "summary": summary,
        "modify_files": [{"path": MODEL, "change": instructions}],
        "add_data_models": [{"name": "Task", "fields": [*TASK_FIELDS, *fields]}],
    }


NOTES_DELTA = _delta(
    "Tasks get a note and can be pinned.",
    NOTES_INSTRUCTIONS,
    [
        {"name": "note", "type": "str | None", "required": False},
        {"name": "pinned", "type": "bool", "required": False, "default": False},
    ],
)


def schema_responder(responder: AppResponder, *deltas: dict[str, Any]) -> AppResponder:
    """Teach `responder` the given changes, answered in turn; the model file is answered from
    the instructions in its prompt (the generated text with the change's fields added)."""
    for delta in deltas:
        responder.delta_replies.append(json.dumps(delta))
    original = responder.app.files[MODEL]
    assert ID_LINE in original

    def answer(request: ChatRequest) -> str:
        prompt = request.prompt
        if NOTES_INSTRUCTIONS in prompt:
            return original.replace(ID_LINE, ID_LINE + NOTES_LINES, 1)
        return original

    responder.overrides[MODEL] = answer
    return responder
