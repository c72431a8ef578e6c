"""Two scripted changes of the behaviour task manager (`behaviour_defects.behaviour_app`), for the
regression check after a change:

- "break": a change that rewrites the projects router so that its create no longer commits (the
  record is gone with the session): an endpoint that worked before the change, broken by it. The
  rewrite comes back the same when asked to repair it, so the finding stays to be reported;
- "remove": a change that removes a project's detail endpoint on purpose (from the plan and from
  the router) and brings the create back right: no regression.

`ChangeScript.phase` says which change the scripted LLM is answering ("generate" before either).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from tests.fake_groq.behaviour_defects import DEFECTS, PROJECTS, PROJECTS_RIGHT, behaviour_app
from tests.fake_groq.responders import AppResponder
from tests.fake_groq.server import ChatRequest

BREAK_REQUEST = "log the creation of projects"
REMOVE_REQUEST = "projects need no detail endpoint; drop it"
CREATE_DECORATOR = '@router.post("", response_model=Project, status_code=201)'
(NOT_COMMITTED,) = [d for d in DEFECTS if d.path == PROJECTS and d.code == "api-not-stored"]
PROJECTS_BROKEN = NOT_COMMITTED.broken(PROJECTS_RIGHT)
DETAIL = PROJECTS_RIGHT[PROJECTS_RIGHT.index('\n\n@router.get("/{project_id}"') :]
assert PROJECTS_RIGHT.endswith(DETAIL)
PROJECTS_WITHOUT_DETAIL = PROJECTS_RIGHT.removesuffix(DETAIL)

BREAK_DELTA = {
    "summary": "Project creation is logged.",
    "modify_files": [
        {"path": PROJECTS, "change": "log each created project in create_project"},
    ],
}
REMOVE_DELTA = {
    "summary": "A project's detail endpoint is removed.",
    "modify_files": [
        {"path": PROJECTS, "change": "remove read_project (GET /api/projects/{project_id})"},
    ],
    "remove_api_endpoints": [{"method": "GET", "path": "/api/projects/{id}"}],
}


@dataclass
class ChangeScript:
    responder: AppResponder
    phase: str = "generate"  # "generate", "break" or "remove"


def regression_responder() -> ChangeScript:
    """The clean behaviour app, then the two changes' deltas in turn; the projects router as the
    current phase has it (every ask of it, repairs included)."""
    responder = AppResponder(behaviour_app())
    script = ChangeScript(responder)
    responder.delta_replies += [json.dumps(BREAK_DELTA), json.dumps(REMOVE_DELTA)]
    texts = {
        "generate": PROJECTS_RIGHT,
        "break": PROJECTS_BROKEN,
        "remove": PROJECTS_WITHOUT_DETAIL,
    }

    def projects(request: ChatRequest) -> str:
        return texts[script.phase]

    responder.overrides[PROJECTS] = projects
    return script
