"""Does a generated file parse? Python with `compile`, JSON with `json.loads`, TypeScript and TSX
(and JS/JSX) with tree-sitter. Other kinds of files are accepted as they are."""

from __future__ import annotations

import json
from functools import cache
from pathlib import PurePosixPath

import tree_sitter_typescript
from tree_sitter import Language, Node, Parser


@cache
def _parser(kind: str) -> Parser:
    language = (
        tree_sitter_typescript.language_tsx()
        if kind == "tsx"
        else tree_sitter_typescript.language_typescript()
    )
    return Parser(Language(language))


def ts_kind(path: str) -> str | None:
    suffix = PurePosixPath(path).suffix
    if suffix in (".tsx", ".jsx", ".js", ".mjs", ".cjs"):
        return "tsx"  # TSX's grammar is a superset of JavaScript's with JSX
    if suffix in (".ts", ".mts", ".cts"):
        return "ts"
    return None


def parse_ts(path: str, source: bytes) -> Node:
    kind = ts_kind(path)
    assert kind is not None, path
    return _parser(kind).parse(source).root_node


def _first_error(node: Node) -> Node | None:
    if node.is_error or node.is_missing:
        return node
    if not node.has_error:
        return None
    for child in node.children:
        found = _first_error(child)
        if found is not None:
            return found
    return node


def syntax_error(path: str, content: str) -> tuple[int, int, str] | None:
    """Where and why `content` does not parse as the kind of file `path` names (line and column
    1-based), or None."""
    suffix = PurePosixPath(path).suffix
    if suffix == ".py":
        try:
            compile(content, path, "exec", dont_inherit=True)
        except SyntaxError as error:
            return error.lineno or 1, error.offset or 1, f"Python syntax error: {error.msg}"
        except ValueError as error:  # null bytes
            return 1, 1, f"Python syntax error: {error}"
        return None
    if suffix == ".json":
        try:
            json.loads(content)
        except json.JSONDecodeError as error:
            return error.lineno, error.colno, f"invalid JSON: {error.msg}"
        return None
    if ts_kind(path):
        root = parse_ts(path, content.encode("utf-8"))
        error_node = _first_error(root)
        if error_node is not None:
            line, column = error_node.start_point[0] + 1, error_node.start_point[1] + 1
            what = f"missing {error_node.type}" if error_node.is_missing else "unexpected text"
            return line, column, f"TypeScript syntax error: {what}"
    return None


def syntax_problem(path: str, content: str) -> str | None:
    """Why `content` does not parse as the kind of file `path` names, or None."""
    found = syntax_error(path, content)
    if found is None:
        return None
    line, _, message = found
    kind, _, detail = message.partition(": ")
    return f"{kind} at line {line}: {detail}"
