import pytest

from server.generation.fences import extract_code, partial_code
from server.source.outline import outline
from server.source.syntax import syntax_problem


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        ("```tsx\nconst a = 1;\n```", "const a = 1;\n"),
        ("Here is the file:\n\n```python\nx = 1\n```\nIt defines x.", "x = 1\n"),
        ("const a = 1;\n", "const a = 1;\n"),
        ("```ts\nconst s = `template`;\n```", "const s = `template`;\n"),
        ("````md\n```js\ninner\n```\n````", "```js\ninner\n```\n"),
        (
            "```ts\nexport const a = 1;\nexport const b = 2;\n```\nUsage:\n```ts\nuse(a)\n```",
            "export const a = 1;\nexport const b = 2;\n",
        ),
        ("```py\nunclosed = True\n", "unclosed = True\n"),
    ],
)
def test_extract_code(answer, code):
    assert extract_code(answer) == code


def test_partial_code_waits_for_the_fence_and_then_follows_it():
    assert partial_code("Here is") is None
    assert partial_code("Here is the file:\n```tsx\nexport def") == "export def"
    assert partial_code("```tsx\nA\n```\nmore prose") == "A\n"


@pytest.mark.parametrize(
    ("path", "content", "ok"),
    [
        ("a.py", "def f():\n    return 1\n", True),
        ("a.py", "def f(:\n", False),
        ("a.json", '{"a": 1}', True),
        ("a.json", "{a: 1}", False),
        ("a.tsx", "export default function A() { return <div>{1 < 2}</div>; }\n", True),
        ("a.tsx", "export default function A() { return <div>; }\n", False),
        ("a.ts", "export const f = <T,>(x: T): T => x;\n", True),
        ("a.ts", "export const = 1;\n", False),
        ("a.css", "this is { not checked", True),
    ],
)
def test_syntax_checks(path, content, ok):
    assert (syntax_problem(path, content) is None) is ok


def test_outlines_keep_signatures_and_types_not_bodies():
    ts = outline(
        "a.ts",
        "export interface T { id: number }\nexport function f(a: T): string {\n  return 'long body';\n}\nconst hidden = 1;\n",
    )
    assert "export interface T { id: number }" in ts and "export function f(a: T): string" in ts
    assert "long body" not in ts and "hidden" not in ts
    py = outline(
        "a.py",
        "class A(Base):\n    x: int = 1\n    def m(self, y: str) -> int:\n        return 2\n\ndef g(a):\n    secret = 1\n",
    )
    assert "class A(Base):" in py and "x: int = 1" in py and "def m(self, y: str) -> int: ..." in py
    assert "def g(a): ..." in py and "secret" not in py


def test_every_python_parse_in_server_takes_the_parse_lock():
    """CPython 3.11's AST construction is not safe in two threads at once (python/cpython#106905:
    `SystemError: AST constructor recursion depth mismatch`, seen in a generation): StepForge's
    parses go through `parse_python`, which holds a lock."""
    import ast
    from pathlib import Path

    server = Path(__file__).resolve().parents[2] / "server"
    direct = []
    for path in sorted(server.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "parse"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "ast"
            ):
                direct.append(str(path.relative_to(server)))
    assert direct == ["source/python.py"]  # parse_python itself
