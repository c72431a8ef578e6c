"""The router registry: StepForge includes here every backend module that defines `router`.

Edit freely; your edits are kept.
"""

from fastapi import APIRouter

ROUTERS: list[APIRouter] = []
