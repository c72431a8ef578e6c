"""The FastAPI app. Routers come from router_registry.py, which StepForge keeps in step with the plan.
The database's tables are created at startup (db.py), once the routers have imported the models."""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import import_styles  # noqa: F401  (first: both `models.x` and `backend.models.x` imports work)
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from db import init_db
from router_registry import ROUTERS


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    # At startup, not at import: importing the app (as the checks do) never touches a database.
    init_db()
    yield


app = FastAPI(title="StepForge app", lifespan=lifespan)

# The preview sets FRONTEND_ORIGINS to the frontend's URL(s); plain `uvicorn` allows Vite's default.
origins = os.environ.get("FRONTEND_ORIGINS", "http://localhost:5173,http://127.0.0.1:5173")
app.add_middleware(
    CORSMiddleware,
    allow_origins=[origin.strip() for origin in origins.split(",") if origin.strip()],
    allow_credentials=True,
    allow_methods=["*"],
    allow_headers=["*"],
)


@app.get("/api/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


for router in ROUTERS:
    app.include_router(router)
