"""Outlines: what other files may use of a file (exports, signatures, types), without bodies.

A file's outline costs a fraction of its full text, so the context of a prompt can show every
file written so far while keeping the full text for the direct dependencies.
"""

from __future__ import annotations

import ast
import hashlib
from pathlib import PurePosixPath

from tree_sitter import Node

from server.source.python import parse_python
from server.source.syntax import parse_ts, ts_kind

MAX_TYPE_TEXT = 1200  # interfaces and type aliases are shown whole up to this many characters
_BODY_TYPES = {"statement_block", "class_body"}


_CACHE_SIZE = 4096
_cache: dict[tuple[str, bytes], str] = {}


def outline(path: str, source: str) -> str:
    """Cached by content (the cache keeps outlines, not sources): every new file's prompt shows
    the outlines of the files written before it."""
    key = (path, hashlib.blake2b(source.encode("utf-8"), digest_size=16).digest())
    cached = _cache.get(key)
    if cached is None:
        if len(_cache) >= _CACHE_SIZE:
            _cache.pop(next(iter(_cache)))
        cached = _cache[key] = _outline(path, source)
    return cached


def _outline(path: str, source: str) -> str:
    if ts_kind(path):
        return _ts_outline(path, source)
    if PurePosixPath(path).suffix == ".py":
        return _python_outline(source)
    lines = source.splitlines()
    return "\n".join(lines[:8]) + ("\n…" if len(lines) > 8 else "")


# --- TypeScript ----------------------------------------------------------------------------------


def _text(node: Node, source: bytes) -> str:
    return source[node.start_byte : node.end_byte].decode("utf-8", "replace")


def _signature(node: Node, source: bytes) -> str:
    """A declaration up to its body: `function f(a: A): B`, `class C extends D`."""
    if node.type == "arrow_function":
        arrow = next((c for c in node.children if c.type == "=>"), None)
        end = arrow.end_byte if arrow is not None else node.end_byte
        head = source[node.start_byte : end].decode("utf-8", "replace").strip()
        body = node.child_by_field_name("body")
        if body is not None and body.type != "statement_block":
            # An expression body often is the only hint of the return type: show its start.
            first = _text(body, source).splitlines()[0]
            head += " " + (
                first[:100] + " …"
                if len(first) > 100 or body.start_point[0] != body.end_point[0]
                else first
            )
        return head
    body = next((c for c in node.children if c.type in _BODY_TYPES), None)
    end = body.start_byte if body is not None else node.end_byte
    return source[node.start_byte : end].decode("utf-8", "replace").strip()


def _class_outline(node: Node, source: bytes) -> str:
    header = _signature(node, source)
    body = next((c for c in node.children if c.type == "class_body"), None)
    members = []
    for member in body.children if body is not None else []:
        if member.type in ("method_definition", "abstract_method_signature"):
            members.append("  " + _signature(member, source) + ";")
        elif member.type in ("public_field_definition", "property_signature"):
            members.append("  " + " ".join(_text(member, source).split())[:160].rstrip(";") + ";")
    return header + " {\n" + "\n".join(members) + ("\n}" if members else "}")


def _declaration(node: Node, source: bytes) -> str:
    kind = node.type
    if kind in ("function_declaration", "generator_function_declaration", "function_signature"):
        return _signature(node, source)
    if kind in ("class_declaration", "abstract_class_declaration"):
        return _class_outline(node, source)
    if kind in ("interface_declaration", "type_alias_declaration", "enum_declaration"):
        text = _text(node, source)
        return text if len(text) <= MAX_TYPE_TEXT else text[:MAX_TYPE_TEXT] + " …"
    if kind == "lexical_declaration":
        keyword = node.children[0].type if node.children else "const"
        parts = []
        for declarator in (c for c in node.children if c.type == "variable_declarator"):
            name = declarator.child_by_field_name("name")
            annotation = declarator.child_by_field_name("type")
            value = declarator.child_by_field_name("value")
            text = f"{keyword} {_text(name, source) if name else '?'}"
            if annotation is not None:
                text += _text(annotation, source)
            if value is not None and value.type in (
                "arrow_function",
                "function_expression",
                "function",
            ):
                text += " = " + _signature(value, source)
            elif value is not None and annotation is None:
                first_line = _text(value, source).splitlines()[0]
                text += " = " + (
                    first_line[:100]
                    + (" …" if len(first_line) > 100 or "\n" in _text(value, source) else "")
                )
            parts.append(text)
        return "; ".join(parts)
    return " ".join(_text(node, source).split())[:200]


def _ts_outline(path: str, text: str) -> str:
    source = text.encode("utf-8")
    root = parse_ts(path, source)
    lines: list[str] = []
    for node in root.children:
        if node.type == "export_statement":
            declaration = node.child_by_field_name("declaration")
            value = node.child_by_field_name("value")
            is_default = any(c.type == "default" for c in node.children)
            prefix = "export default " if is_default else "export "
            if declaration is not None:
                lines.append(prefix + _declaration(declaration, source))
            elif value is not None:
                shown = (
                    _signature(value, source)
                    if value.type in ("arrow_function", "function_expression", "function", "class")
                    else _text(value, source)
                )
                lines.append(prefix + " ".join(shown.split())[:200])
            else:  # export { a, b } / export * from "x"
                lines.append(" ".join(_text(node, source).split())[:300])
        elif node.type in ("interface_declaration", "type_alias_declaration", "enum_declaration"):
            lines.append(_declaration(node, source))
    return "\n".join(lines)


# --- Python --------------------------------------------------------------------------------------


def _python_signature(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    prefix = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
    decorators = "".join(f"@{ast.unparse(d)}\n" for d in node.decorator_list)
    returns = f" -> {ast.unparse(node.returns)}" if node.returns else ""
    return f"{decorators}{prefix} {node.name}({ast.unparse(node.args)}){returns}: ..."


def _python_outline(source: str) -> str:
    try:
        tree = parse_python(source)
    except SyntaxError:
        return "\n".join(source.splitlines()[:8])
    lines: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            lines.append(_python_signature(node))
        elif isinstance(node, ast.ClassDef):
            bases = ", ".join(ast.unparse(b) for b in [*node.bases, *node.keywords])
            lines.append(f"class {node.name}({bases}):" if bases else f"class {node.name}:")
            members = 0
            for item in node.body:
                if isinstance(item, ast.AnnAssign | ast.Assign):
                    lines.append("    " + ast.unparse(item).splitlines()[0][:160])
                    members += 1
                elif isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    lines += ["    " + line for line in _python_signature(item).splitlines()]
                    members += 1
            if not members:
                lines.append("    ...")
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            lines.append(ast.unparse(node).splitlines()[0][:160])
    return "\n".join(lines)
