"""A scripted follow-up request for the task manager: "add favorites". A page, an API module, a
model field, and the files that must change for them (the model, the frontend's type and service,
the page that lists tasks); everything else stays as it is."""

from __future__ import annotations

import json
from typing import Any

from tests.fake_groq.responders import AppResponder
from tests.fake_groq.server import ChatRequest

REQUEST = "let me mark tasks as favorites and see them on their own page"
NEW_FILES = {
    "backend/routers/favorites.py": '''"""Favorite tasks."""

from db import get_session
from fastapi import APIRouter, Depends, HTTPException
from models.task import Task
from services import task_store
from sqlmodel import Session

router = APIRouter(prefix="/api/favorites", tags=["favorites"])


@router.get("", response_model=list[Task])
def list_favorites(session: Session = Depends(get_session)) -> list[Task]:
    return [task for task in task_store.list_tasks(session) if task.favorite]


@router.post("/{task_id}", response_model=list[Task])
def add_favorite(task_id: int, session: Session = Depends(get_session)) -> list[Task]:
    task = task_store.get_task(session, task_id)
    if task is None:
        raise HTTPException(status_code=404, detail="Task not found")
    task.favorite = True
    session.add(task)
    session.commit()
    return list_favorites(session)
''',
    "frontend/src/pages/Favorites.tsx": """import { useEffect, useState } from "react";
import { fetchFavorites } from "../services/tasks";
import type { Task } from "../types/task";

export default function Favorites() {
  const [favorites, setFavorites] = useState<Task[]>([]);
  useEffect(() => {
    fetchFavorites().then(setFavorites, () => setFavorites([]));
  }, []);
  return (
    <div className="page">
      <h1>Favorites</h1>
      <ul>
        {favorites.map((task) => (
          <li key={task.id}>{task.title}</li>
        ))}
      </ul>
    </div>
  );
}
""",
}
# path -> (text to find, replacement) in the generated file
MODIFICATIONS = {
    "backend/models/task.py": (
        "    id: int | None = Field(default=None, primary_key=True)\n",
        "    id: int | None = Field(default=None, primary_key=True)\n    favorite: bool = False\n",
    ),
    "frontend/src/types/task.ts": (
        "  due: string | null;\n}",
        "  due: string | null;\n  favorite?: boolean;\n}",
    ),
    "frontend/src/services/tasks.ts": (
        'export const fetchStats = () => request<TaskStats>("/api/stats");\n',
        'export const fetchStats = () => request<TaskStats>("/api/stats");\n'
        'export const fetchFavorites = () => request<Task[]>("/api/favorites");\n'
        "export const addFavorite = (id: number) =>\n"
        '  request<Task[]>(`/api/favorites/${id}`, { method: "POST" });\n',
    ),
    "frontend/src/pages/Tasks.tsx": (
        'import { useTasks } from "../hooks/useTasks";\n',
        'import { useTasks } from "../hooks/useTasks";\nimport { addFavorite } from "../services/tasks";\n',
    ),
}
DELTA: dict[str, Any] = {
    "summary": "Tasks can be marked as favorites, listed on a Favorites page.",
    "add_files": [
        {
            "path": "backend/routers/favorites.py",
            "purpose": "Favorite tasks API",
            "depends_on": ["backend/models/task.py", "backend/services/task_store.py"],
        },
        {
            "path": "frontend/src/pages/Favorites.tsx",
            "purpose": "The favorite tasks",
            "depends_on": ["frontend/src/services/tasks.ts", "frontend/src/types/task.ts"],
        },
    ],
    "modify_files": [
        {"path": "backend/models/task.py", "change": "add `favorite: bool = False` to Task"},
        {"path": "frontend/src/types/task.ts", "change": "add `favorite?: boolean` to Task"},
        {
            "path": "frontend/src/services/tasks.ts",
            "change": "add fetchFavorites (GET /api/favorites) and addFavorite (POST /api/favorites/{id})",
        },
        {"path": "frontend/src/pages/Tasks.tsx", "change": "import addFavorite for a star button"},
    ],
    "add_routes": [
        {"path": "/favorites", "component": "Favorites", "icon": "Star", "label": "Favorites"}
    ],
    "add_api_endpoints": [
        {"method": "GET", "path": "/api/favorites", "description": "List favorite tasks"},
        {"method": "POST", "path": "/api/favorites/{task_id}", "description": "Add a favorite"},
    ],
    "add_data_models": [
        {
            "name": "Task",
            "fields": [
                {"name": "title", "type": "str", "required": True},
                {"name": "project_id", "type": "int | None", "required": False},
                {"name": "status", "type": "todo|doing|done", "required": False},
                {"name": "due", "type": "date | None", "required": False},
                {"name": "favorite", "type": "bool", "required": False, "default": False},
            ],
        }
    ],
}


def modified(path: str, original: str) -> str:
    find, replace = MODIFICATIONS[path]
    assert find in original, f"{path}: {find!r} not found"
    return original.replace(find, replace, 1)


def favorites_responder(responder: AppResponder) -> AppResponder:
    """Teach `responder` the favorites change: the delta, the new files, the modified ones (the
    modified version when asked with the change's instructions, the original otherwise)."""
    responder.delta_replies.append(json.dumps(DELTA))
    for path, content in NEW_FILES.items():
        responder.overrides[path] = content
    for path in MODIFICATIONS:
        original = responder.app.files[path]
        changed = modified(path, original)

        def answer(request: ChatRequest, original: str = original, changed: str = changed) -> str:
            return changed if "Instructions for this version" in request.prompt else original

        responder.overrides[path] = answer
    return responder
