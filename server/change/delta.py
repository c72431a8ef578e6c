"""Applying a plan delta to a plan, and what makes a delta invalid (pure).

A delta is validated like a plan (the plan it produces goes through the same rules: safe paths,
every file in the order, no cycles, route components planned), plus its own: a modified or removed
file must be a planned file that exists, an added one must not be planned already.

New files join the implementation order after every existing step, layered by their `depends_on`
among themselves, so a new page comes after the new service it uses.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from protocol.delta import PlanDelta
from protocol.plan import Plan
from server.plan.validation import PlanValidationError, semantic_problems

GROUPS = (("frontend/", "frontend"), ("backend/", "backend"))


def _group_of(path: str, plan: Plan) -> str:
    for prefix, group in GROUPS:
        if path.startswith(prefix):
            for name, files in plan.files.items():
                if any(f.path.startswith(prefix) for f in files):
                    return name
            return group
    return next(iter(plan.files), "frontend")


def _layers(added: list[str], depends: dict[str, list[str]]) -> list[list[str]]:
    """New files in steps: each after the new files it depends on (a cycle ends in one step)."""
    remaining = list(added)
    placed: set[str] = set()
    layers: list[list[str]] = []
    while remaining:
        ready = [
            p for p in remaining if all(d in placed or d not in added for d in depends.get(p, []))
        ]
        if not ready:  # a cycle: validation reports it
            ready = list(remaining)
        layers.append(ready)
        placed |= set(ready)
        remaining = [p for p in remaining if p not in placed]
    return layers


def apply_delta(plan: Plan, delta: PlanDelta) -> Plan:
    """The plan after the delta (validate it before use)."""
    document: dict[str, Any] = plan.to_document()
    removed = set(delta.remove_files)
    files: dict[str, list[Any]] = {
        group: [f for f in entries if (f if isinstance(f, str) else f["path"]) not in removed]
        for group, entries in document["files"].items()
    }
    for added in delta.add_files:
        files.setdefault(_group_of(added.path, plan), []).append(
            added.model_dump(mode="json", exclude_none=True)
        )
    document["files"] = files

    order = [
        {**step, "files": [p for p in step["files"] if p not in removed]}
        for step in document["implementation_order"]
    ]
    order = [step for step in order if step["files"]]
    last = max((step["step"] for step in order), default=0)
    depends = {f.path: f.depends_on or [] for f in delta.add_files}
    for offset, layer in enumerate(_layers([f.path for f in delta.add_files], depends), start=1):
        order.append({"step": last + offset, "type": "change", "files": layer})
    document["implementation_order"] = order

    removed_routes = set(delta.remove_routes)
    document["routes"] = [
        r for r in document.get("routes", []) if r["path"] not in removed_routes
    ] + [r.model_dump(mode="json", exclude_none=True) for r in delta.add_routes]
    removed_endpoints = {(e.method, e.path) for e in delta.remove_api_endpoints}
    document["api_endpoints"] = [
        e
        for e in document.get("api_endpoints", [])
        if (e["method"], e["path"]) not in removed_endpoints
    ] + [e.model_dump(mode="json", exclude_none=True) for e in delta.add_api_endpoints]
    removed_models = set(delta.remove_data_models)
    document["data_models"] = [
        m
        for m in document.get("data_models", [])
        if not (isinstance(m, dict) and m.get("name") in removed_models)
    ]
    for model in delta.add_data_models:  # a model of the same name is replaced (a new field)
        name = model.get("name") if isinstance(model, dict) else None
        document["data_models"] = [
            m
            for m in document["data_models"]
            if not (isinstance(m, dict) and m.get("name") == name)
        ] + [model]
    dependencies = document.get("dependencies") or {"npm": {}, "pypi": {}}
    for ecosystem in ("npm", "pypi"):
        section = dict(dependencies.get(ecosystem, {}))
        for name in getattr(delta.remove_dependencies, ecosystem):
            section.pop(name, None)
        section.update(getattr(delta.add_dependencies, ecosystem))
        dependencies[ecosystem] = section
    if any(dependencies.values()):
        document["dependencies"] = dependencies
    return Plan.model_validate(document)


def delta_problems(
    plan: Plan,
    delta: PlanDelta,
    *,
    template_paths: Collection[str],
    exists: Callable[[str], bool],
    max_files: int,
) -> list[str]:
    """Every reason the delta cannot be applied, each a sentence for the LLM and the user."""
    problems: list[str] = []
    planned = set(plan.file_paths())
    if not delta.touched() and not (
        delta.add_routes or delta.add_api_endpoints or delta.add_data_models
    ):
        problems.append("the delta changes nothing; name the files to add, modify or remove.")
    for index, added in enumerate(delta.add_files):
        if added.path in planned:
            problems.append(
                f"add_files[{index}] {added.path!r} is planned already; list it in modify_files."
            )
    for index, modified in enumerate(delta.modify_files):
        if modified.path not in planned:
            problems.append(f"modify_files[{index}] {modified.path!r} is not a planned file.")
        elif not exists(modified.path):
            problems.append(f"modify_files[{index}] {modified.path!r} does not exist on disk.")
    for index, path in enumerate(delta.remove_files):
        if path not in planned:
            problems.append(f"remove_files[{index}] {path!r} is not a planned file.")
    touched = delta.touched()
    for path in {p for p in touched if touched.count(p) > 1}:
        problems.append(f"{path!r} is listed more than once; add, modify or remove it once.")
    if problems:
        return problems
    removed = set(delta.remove_files)
    try:
        changed = apply_delta(plan, delta)
    except ValueError as error:  # a shape the plan model refuses
        return [f"the delta does not fit the plan: {error}"]
    return semantic_problems(
        changed,
        template_paths,
        lambda path: path not in removed and exists(path),
        max_files,
    )


def validate_delta(
    plan: Plan,
    data: Any,
    *,
    template_paths: Collection[str],
    exists: Callable[[str], bool],
    max_files: int,
) -> tuple[PlanDelta, Plan]:
    """The delta and the plan it makes, or PlanValidationError listing every problem."""
    from pydantic import ValidationError

    if not isinstance(data, dict):
        raise PlanValidationError(["the delta must be a JSON object."])
    try:
        delta = PlanDelta.model_validate(data)
    except ValidationError as error:
        raise PlanValidationError(
            [
                f"{'.'.join(str(p) for p in e['loc']) or 'delta'}: {e['msg']}."
                for e in error.errors()
            ]
        ) from None
    problems = delta_problems(
        plan, delta, template_paths=template_paths, exists=exists, max_files=max_files
    )
    if problems:
        raise PlanValidationError(problems)
    return delta, apply_delta(plan, delta)
