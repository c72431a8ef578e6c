"""What the fake server answers: a scripted app (a plan plus the content of each planned file).

Requests are told apart by StepForge's system prompts (planner, file writer, app writer), which
stay fixed when a user overrides the prompt templates. A continuation (an assistant turn followed
by "continue") gets what follows the part already said, so cut-off answers stitch back exactly.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.fake_groq.server import ChatRequest, Reply

FIXTURE_DIR = Path(__file__).with_name("fixture_app")

_FENCE_LANG = {".py": "python", ".ts": "ts", ".tsx": "tsx", ".json": "json", ".css": "css"}


def fenced(path: str, content: str) -> str:
    """How a chatty model answers: a sentence, then the file in one fenced block."""
    lang = _FENCE_LANG.get(Path(path).suffix, "")
    return f"Here is `{path}`:\n\n```{lang}\n{content}```\n"


def xml_blocks(files: dict[str, str], cdata_every: int = 3) -> str:
    """A single-shot answer: every file in a <file> block, some wrapped in CDATA."""
    parts = ["I will now write every file of the app.\n"]
    for index, (path, content) in enumerate(files.items()):
        if cdata_every and index % cdata_every == 0:
            parts.append(f'<file path="{path}"><![CDATA[\n{content}]]></file>\n')
        else:
            parts.append(f'<file path="{path}">\n{content}</file>\n')
    return "".join(parts)


@dataclass
class ScriptedApp:
    """A plan and the content of each of its files."""

    plan: dict[str, object]
    files: dict[str, str]

    @classmethod
    def fixture(cls) -> ScriptedApp:
        """The task manager of `fixture_app/`: 25 files that build and run in the template."""
        root = FIXTURE_DIR / "files"
        plan = json.loads((FIXTURE_DIR / "plan.json").read_text())
        files = {
            p.relative_to(root).as_posix(): p.read_text()
            for p in sorted(root.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts
        }
        return cls(plan, files)

    @classmethod
    def synthetic(
        cls,
        files: int = 60,
        steps: int = 6,
        seed: int = 7,
        min_tokens: int = 300,
        max_tokens: int = 1500,
        depends_on: int = 2,
    ) -> ScriptedApp:
        """A plan of `files` TypeScript modules in `steps` steps, answers of min..max fake tokens.
        Each module imports `depends_on` modules of the previous step (named in the plan's
        `depends_on`, as the planner is asked to), and is shaped like real code: an interface and
        exported functions with bodies, so that an outline is much shorter than the file."""
        rng = random.Random(seed)
        paths = [
            f"frontend/src/modules/step{(i % steps) + 1}/module{i:03d}.ts" for i in range(files)
        ]
        by_step: dict[int, list[str]] = {}
        for i, path in enumerate(paths):
            by_step.setdefault((i % steps) + 1, []).append(path)
        entries: list[object] = []
        contents = {}
        for i, path in enumerate(paths):
            step = (i % steps) + 1
            imports = (
                rng.sample(by_step[step - 1], min(depends_on, len(by_step[step - 1])))
                if step > 1
                else []
            )
            entries.append(
                {"path": path, "depends_on": imports} if imports and depends_on else path
            )
            target = rng.randint(min_tokens, max_tokens) * 4
            lines = [f"// module {i}: generated for the benchmark\n"]
            for dep in imports:
                lines.append(
                    f'import {{ run{int(dep[-6:-3])} }} from "../step{step - 1}/{dep.rsplit("/", 1)[1][:-3]}";\n'
                )
            lines.append(
                f"\nexport interface Item{i} {{\n  id: number;\n  name: string;\n  score: number;\n}}\n\n"
            )
            n = 0
            while sum(len(line) for line in lines) < target:
                lines.append(
                    f"export function helper{i}_{n}(items: Item{i}[], limit: number): Item{i}[] {{\n"
                )
                lines.append("  const result: Item" + str(i) + "[] = [];\n")
                lines.append("  for (const item of items) {\n")
                lines.append(f"    if (item.score > {n} && result.length < limit) {{\n")
                lines.append(
                    f"      result.push({{ ...item, score: item.score * {n + 1} + {i} }});\n"
                )
                lines.append("    }\n  }\n")
                lines.append("  return result.sort((a, b) => b.score - a.score);\n}\n\n")
                n += 1
            lines.append(
                f"export function run{i}(): number {{\n  return {' + '.join([str(i), *(f'run{int(d[-6:-3])}()' for d in imports)])};\n}}\n"
            )
            contents[path] = "".join(lines)
        plan: dict[str, object] = {
            "project_name": "synthetic-bench",
            "features": ["benchmark"],
            "files": {"frontend": entries},
            "routes": [],
            "api_endpoints": [],
            "data_models": [],
            "implementation_order": [
                {"step": step, "type": "module", "files": step_paths}
                for step, step_paths in sorted(by_step.items())
            ],
        }
        return cls(plan, contents)


@dataclass
class AppResponder:
    """Answers StepForge's requests from a ScriptedApp.

    - `plan_replies`: raw plan answers to give first (e.g. invalid plans), then the app's plan;
    - `overrides`: per path, a text or a function of the request (e.g. for regenerations);
    - `plain`: answer files without a code fence.
    """

    app: ScriptedApp
    plan_replies: list[str] = field(default_factory=list)
    delta_replies: list[str] = field(default_factory=list)  # answers to change requests, in turn
    delta_calls: int = 0
    overrides: dict[str, str | Callable[[ChatRequest], str]] = field(default_factory=dict)
    plain: bool = False
    calls_by_path: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def __call__(self, request: ChatRequest) -> Reply:
        full = self._full_answer(request)
        partial = request.partial_answer
        if partial is not None:
            # A continuation: what follows the part already said.
            if not full.startswith(partial):
                return Reply("```\n// cannot continue: the partial answer is not ours\n```")
            return Reply(full[len(partial) :])
        return Reply(full)

    def _full_answer(self, request: ChatRequest) -> str:
        system = request.messages[0]["content"] if request.messages else ""
        if "StepForge's planner" in system:
            with self._lock:
                if self.plan_replies and request.partial_answer is None:
                    return self.plan_replies.pop(0)
            return json.dumps(self.app.plan, indent=2)
        if "StepForge's change planner" in system:
            with self._lock:
                self.delta_calls += 1
                if self.delta_replies and request.partial_answer is None:
                    return self.delta_replies.pop(0)
            return '{"summary": "nothing"}'
        if "StepForge's app writer" in system:
            return xml_blocks(self.app.files)
        path = request.file_path
        if path is not None:
            if request.partial_answer is None:
                with self._lock:
                    self.calls_by_path[path] = self.calls_by_path.get(path, 0) + 1
            override = self.overrides.get(path)
            if callable(override):
                content = override(request)
            elif override is not None:
                content = override
            else:
                content = self.app.files.get(path, f"// no scripted content for {path}\n")
            return content if self.plain else fenced(path, content)
        return "I do not know what you are asking."
