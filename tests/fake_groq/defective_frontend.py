"""The task manager with a frontend behaviour defect: the create request names the task's title
`name`, where the backend's model says `title` (FastAPI answers 422 to every submit of the form).

The file types its body with the generated API types (`frontend/src/api/schema.d.ts`, as the file
prompt asks), so the compiler reports the wrong field too, on the line that names it; the pages in
use report the 422 the form gets, with the request in the message. The first answer for the file
carries the defect; asked again with the checks' problems ("Fix these problems ..."), it comes back
right.
"""

from __future__ import annotations

from tests.fake_groq.defects import REPAIR_MARK
from tests.fake_groq.responders import AppResponder, ScriptedApp
from tests.fake_groq.server import ChatRequest

FORM_FILE = "frontend/src/services/tasks.ts"
RIGHT_BODY = "const body: TaskCreate = { title, project_id: projectId };"
WRONG_BODY = "const body: TaskCreate = { name: title, project_id: projectId };"

TYPED_TASKS = """import type { components } from "@/api/schema";
import type { Project } from "../types/project";
import type { Task, TaskStats, TaskStatus } from "../types/task";
import { request } from "./api";

type TaskCreate = components["schemas"]["TaskCreate"];

export const fetchTasks = () => request<Task[]>("/api/tasks");
export const fetchProjects = () => request<Project[]>("/api/projects");
export const fetchStats = () => request<TaskStats>("/api/stats");

export const createTask = (title: string, projectId: number | null) => {
  @BODY@
  return request<Task>("/api/tasks", { method: "POST", body: JSON.stringify(body) });
};

export const setTaskStatus = (id: number, status: TaskStatus) =>
  request<Task>(`/api/tasks/${id}`, { method: "PATCH", body: JSON.stringify({ status }) });

export const deleteTask = (id: number) => request<void>(`/api/tasks/${id}`, { method: "DELETE" });
"""
RIGHT = TYPED_TASKS.replace("@BODY@", RIGHT_BODY)
WRONG = TYPED_TASKS.replace("@BODY@", WRONG_BODY)
# Where the checks must report it: the wrong field (tsc), the POST call (the pages in use).
BODY_LINE = RIGHT.splitlines().index("  " + RIGHT_BODY) + 1
CALL_LINE = BODY_LINE + 1


def typed_app() -> ScriptedApp:
    """The fixture app as it ends up: its create request typed with the generated API types."""
    app = ScriptedApp.fixture()
    app.files[FORM_FILE] = RIGHT
    return app


def defective_frontend_responder() -> AppResponder:
    """Answers FORM_FILE with the wrong field first, right when asked to fix its problems."""
    responder = AppResponder(typed_app())

    def answer(request: ChatRequest) -> str:
        return RIGHT if REPAIR_MARK in request.prompt else WRONG

    responder.overrides[FORM_FILE] = answer
    return responder
