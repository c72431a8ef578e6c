"""What a TypeScript/TSX module imports, exports and asks of the backend, read with tree-sitter.

Pure and tolerant: a file with syntax errors still yields what parses. Backend calls are the string
literals and template strings that start with `/api` (after an optional `${API_URL}`-style
prefix) passed as arguments to a call, with the method from a `method: "..."` option of that call,
or from a `.post(...)`-style callee, else GET. A literal not passed to a call (a constant) is not
counted: a missed call is better than a false alarm.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tree_sitter import Node

from server.source.syntax import parse_ts

HTTP_METHODS = ("get", "post", "put", "patch", "delete", "head", "options")
WILDCARD = "{*}"


@dataclass(frozen=True)
class Name:
    name: str
    line: int  # 1-based
    column: int  # 1-based


@dataclass(frozen=True)
class TsImport:
    specifier: str
    line: int
    column: int
    default: Name | None = None
    named: tuple[Name, ...] = ()
    namespace: bool = False
    type_only: bool = False
    dynamic: bool = False


@dataclass(frozen=True)
class ApiCall:
    method: str
    path: str  # `/api/tasks/{*}`: substitutions as {*}, no query string
    line: int
    column: int


@dataclass
class TsModule:
    imports: list[TsImport] = field(default_factory=list)
    exports: set[str] = field(default_factory=set)
    has_default: bool = False
    star_exports: list[str] = field(default_factory=list)  # specifiers of `export * from`
    api_calls: list[ApiCall] = field(default_factory=list)


def _text(node: Node, source: bytes) -> str:
    return source[node.start_byte : node.end_byte].decode("utf-8", "replace")


def _at(node: Node) -> tuple[int, int]:
    return node.start_point[0] + 1, node.start_point[1] + 1


def _string_value(node: Node, source: bytes) -> str:
    return "".join(
        _text(c, source) for c in node.children if c.type in ("string_fragment", "escape_sequence")
    )


def _binding_names(node: Node, source: bytes) -> list[str]:
    """Names a declarator's pattern binds (`x`, `{ a, b: c }`, `[d, ...e]`)."""
    if node.type in ("identifier", "shorthand_property_identifier_pattern"):
        return [_text(node, source)]
    names: list[str] = []
    for child in node.children:
        if node.type == "pair_pattern" and child == node.child_by_field_name("key"):
            continue
        names += _binding_names(child, source)
    return names


def _declared_names(declaration: Node, source: bytes) -> list[str]:
    if declaration.type in ("lexical_declaration", "variable_declaration"):
        names: list[str] = []
        for declarator in (c for c in declaration.children if c.type == "variable_declarator"):
            pattern = declarator.child_by_field_name("name")
            if pattern is not None:
                names += _binding_names(pattern, source)
        return names
    name = declaration.child_by_field_name("name")
    return [_text(name, source)] if name is not None else []


def _import(node: Node, source: bytes) -> TsImport | None:
    specifier_node = node.child_by_field_name("source")
    if specifier_node is None:
        return None
    line, column = _at(specifier_node)
    type_only = any(c.type == "type" for c in node.children)
    default: Name | None = None
    named: list[Name] = []
    namespace = False
    clause = next((c for c in node.children if c.type == "import_clause"), None)
    for part in clause.children if clause is not None else []:
        if part.type == "identifier":
            default = Name(_text(part, source), *_at(part))
        elif part.type == "namespace_import":
            namespace = True
        elif part.type == "named_imports":
            for spec in (c for c in part.children if c.type == "import_specifier"):
                name = spec.child_by_field_name("name")
                if name is not None:
                    named.append(Name(_text(name, source), *_at(name)))
    return TsImport(
        _string_value(specifier_node, source),
        line,
        column,
        default,
        tuple(named),
        namespace,
        type_only,
    )


def _export(node: Node, source: bytes, module: TsModule) -> None:
    specifier_node = node.child_by_field_name("source")
    if any(c.type == "default" for c in node.children):
        module.has_default = True
        return
    declaration = node.child_by_field_name("declaration")
    if declaration is not None:
        module.exports.update(_declared_names(declaration, source))
        return
    clause = next((c for c in node.children if c.type == "export_clause"), None)
    if clause is not None:
        for spec in (c for c in clause.children if c.type == "export_specifier"):
            alias = spec.child_by_field_name("alias") or spec.child_by_field_name("name")
            if alias is not None:
                exported = _text(alias, source)
                if exported == "default":
                    module.has_default = True
                else:
                    module.exports.add(exported)
        if specifier_node is not None:
            names = tuple(
                Name(_text(n, source), *_at(n))
                for spec in clause.children
                if spec.type == "export_specifier"
                for n in [spec.child_by_field_name("name")]
                if n is not None
            )
            line, column = _at(specifier_node)
            module.imports.append(
                TsImport(_string_value(specifier_node, source), line, column, named=names)
            )
        return
    if specifier_node is not None:
        namespace = next((c for c in node.children if c.type == "namespace_export"), None)
        if namespace is not None:  # export * as ns from "x"
            labels = [c for c in namespace.children if c.type in ("identifier", "string")]
            if labels:
                module.exports.add(_text(labels[-1], source).strip("\"'"))
        else:
            module.star_exports.append(_string_value(specifier_node, source))
        line, column = _at(specifier_node)
        module.imports.append(
            TsImport(_string_value(specifier_node, source), line, column, namespace=True)
        )


# --- backend calls -------------------------------------------------------------------------------

_QUERY = re.compile(r"[?#].*$")


def _call_path(node: Node, source: bytes) -> str | None:
    """`/api/...` of a string or template literal, substitutions as {*}; None if not one."""
    if node.type == "string":
        text = _string_value(node, source)
    elif node.type == "template_string":
        parts: list[str] = []
        for child in node.children:
            if child.type == "template_substitution":
                parts.append(WILDCARD)
            elif child.type in ("string_fragment", "escape_sequence"):
                parts.append(_text(child, source))
        text = "".join(parts)
        if text.startswith(WILDCARD + "/api"):  # `${API_URL}/api/...`
            text = text[len(WILDCARD) :]
    else:
        return None
    if not (text == "/api" or text.startswith("/api/")):
        return None
    path = _QUERY.sub("", text).rstrip("/") or "/"
    return "/".join(WILDCARD if WILDCARD in seg else seg for seg in path.split("/"))


def _enclosing_call(node: Node) -> Node | None:
    """The call this literal is an argument of (through templates, `+` and parentheses)."""
    current = node
    while current.parent is not None:
        parent = current.parent
        if parent.type == "arguments":
            call = parent.parent
            return call if call is not None and call.type == "call_expression" else None
        if parent.type not in (
            "binary_expression",
            "template_substitution",
            "template_string",
            "parenthesized_expression",
        ):
            return None
        current = parent
    return None


def _method_of(call: Node, source: bytes) -> str:
    arguments = call.child_by_field_name("arguments")
    for argument in arguments.children if arguments is not None else []:
        if argument.type != "object":
            continue
        for pair in (c for c in argument.children if c.type == "pair"):
            key = pair.child_by_field_name("key")
            value = pair.child_by_field_name("value")
            if key is not None and _text(key, source).strip("\"'") == "method":
                if value is not None and value.type == "string":
                    return _string_value(value, source).upper()
    callee = call.child_by_field_name("function")
    if callee is not None:
        name = (
            callee.child_by_field_name("property") if callee.type == "member_expression" else callee
        )
        if name is not None and _text(name, source).lower() in HTTP_METHODS:
            return _text(name, source).upper()
    return "GET"


def _collect_calls(root: Node, source: bytes, module: TsModule) -> None:
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type in ("import_statement", "export_statement") and node.child_by_field_name(
            "source"
        ):
            continue
        if node.type in ("string", "template_string"):
            path = _call_path(node, source)
            call = _enclosing_call(node) if path is not None else None
            if path is not None and call is not None:
                callee = call.child_by_field_name("function")
                if callee is None or callee.type != "import":
                    module.api_calls.append(ApiCall(_method_of(call, source), path, *_at(node)))
            if node.type == "string":
                continue
        if node.type == "call_expression":
            callee = node.child_by_field_name("function")
            arguments = node.child_by_field_name("arguments")
            if callee is not None and callee.type == "import" and arguments is not None:
                first = next((c for c in arguments.children if c.type == "string"), None)
                if first is not None:
                    module.imports.append(
                        TsImport(
                            _string_value(first, source), *_at(first), namespace=True, dynamic=True
                        )
                    )
        stack.extend(reversed(node.children))


def analyze_ts(path: str, text: str) -> TsModule:
    source = text.encode("utf-8")
    root = parse_ts(path, source)
    module = TsModule()
    for node in root.children:
        if node.type == "import_statement":
            found = _import(node, source)
            if found is not None:
                module.imports.append(found)
        elif node.type == "export_statement":
            _export(node, source, module)
    _collect_calls(root, source, module)
    return module
