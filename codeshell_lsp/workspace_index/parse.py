"""What one file offers other files: its definitions, written compactly, and its imports.

Tree-sitter grammars from PyPI (one official wheel per language, compiled grammar inside,
nothing fetched at run time) parse Python, JavaScript, TypeScript (and TSX), Go, Rust,
Java, C and C++; any other language falls back to ``extra_context``'s line rules.

A definition's text is what a small model needs to use the name, not its body: the
signature (everything before the body), the first line of its docstring or of the
comment above it, and for a class-like definition (class, struct, trait, impl,
interface) the signatures of its members, one line each. Pure functions; a parser per
thread (tree-sitter parsers are not shared across threads).
"""

from __future__ import annotations

import importlib
import re
import threading
from dataclasses import dataclass
from typing import Callable

from ..extra_context import outline

HEADER_CHARS = 200  # a signature is cut to this many characters
MEMBERS = 24  # member lines of a class outline at most
DEFINITIONS = 400  # definitions kept per file at most


@dataclass(frozen=True)
class Definition:
    name: str
    kind: str  # function | class | variable | type | other
    line: int  # 0-based first line
    text: str  # compact text, whole lines, ends with a newline


@dataclass(frozen=True)
class FileFacts:
    language: str  # LSP languageId
    definitions: tuple[Definition, ...]  # top-level definitions, in file order
    imports: tuple[str, ...]  # modules as the file names them (``pkg.mod``, ``./util``, ``fmt``, ``foo.h``)
    outline: str  # ``extra_context.outline``: what an importing file sees, the same as when the file is open


@dataclass(frozen=True)
class _Spec:
    grammar: tuple[str, str]  # module, function returning the language pointer
    defs: dict[str, str]  # node type -> kind
    containers: frozenset[str]  # node types whose children hold definitions (export, decorators, namespaces)
    imports: dict[str, Callable[[str], list[str]]]  # node type -> its text -> module names


def _quoted(text: str) -> list[str]:
    return re.findall(r"""["'<]([^"'<>]+)["'>]""", text)[:1]


def _py_imports(text: str) -> list[str]:
    m = re.match(r"\s*from\s+([\w.]+)\s+import\s+(.*)", text, re.S)
    if m:
        names = [n.split(" as ")[0].strip() for n in m.group(2).strip("()\n ").split(",")]
        return [m.group(1)] + [f"{m.group(1).rstrip('.')}.{n}" for n in names if n and n != "*"]
    return [part.split(" as ")[0].strip() for part in text.split("import", 1)[1].split(",")]


def _dotted(text: str) -> list[str]:  # java ``import a.b.C;``, rust ``use a::b::{c, d};``
    body = re.sub(r"^\s*(?:pub\s+)?(?:import|use)\s+(?:static\s+)?", "", text).rstrip("; \n")
    return [body.replace("::", ".").split("{")[0].rstrip(".")]


_JS_DEFS = {
    "function_declaration": "function", "generator_function_declaration": "function", "class_declaration": "class",
    "variable_declarator": "variable", "method_definition": "function", "public_field_definition": "variable",
    "field_definition": "variable",
}
_TS_DEFS = _JS_DEFS | {
    "abstract_class_declaration": "class", "interface_declaration": "class", "type_alias_declaration": "type",
    "enum_declaration": "type", "function_signature": "function", "method_signature": "function",
    "abstract_method_signature": "function", "property_signature": "variable",
}
_JS_CONTAINERS = frozenset({"export_statement", "lexical_declaration", "variable_declaration", "ambient_declaration"})
_C_DEFS = {
    "function_definition": "function", "declaration": "variable", "struct_specifier": "class", "union_specifier": "class",
    "enum_specifier": "type", "type_definition": "type", "field_declaration": "variable",
}
_CPP_DEFS = _C_DEFS | {"class_specifier": "class", "alias_declaration": "type", "concept_definition": "type"}

SPECS: dict[str, _Spec] = {
    "python": _Spec(
        ("tree_sitter_python", "language"),
        {"function_definition": "function", "class_definition": "class", "assignment": "variable"},
        frozenset({"decorated_definition", "expression_statement"}),
        {"import_statement": _py_imports, "import_from_statement": _py_imports},
    ),
    "javascript": _Spec(("tree_sitter_javascript", "language"), _JS_DEFS, _JS_CONTAINERS, {"import_statement": _quoted}),
    "typescript": _Spec(("tree_sitter_typescript", "language_typescript"), _TS_DEFS, _JS_CONTAINERS, {"import_statement": _quoted}),
    "typescriptreact": _Spec(("tree_sitter_typescript", "language_tsx"), _TS_DEFS, _JS_CONTAINERS, {"import_statement": _quoted}),
    "go": _Spec(
        ("tree_sitter_go", "language"),
        {"function_declaration": "function", "method_declaration": "function", "type_spec": "type",
         "const_spec": "variable", "var_spec": "variable"},
        frozenset({"type_declaration", "const_declaration", "var_declaration"}),
        {"import_spec": _quoted},
    ),
    "rust": _Spec(
        ("tree_sitter_rust", "language"),
        {"function_item": "function", "function_signature_item": "function", "struct_item": "class", "enum_item": "type",
         "union_item": "class", "trait_item": "class", "impl_item": "class", "const_item": "variable",
         "static_item": "variable", "type_item": "type", "macro_definition": "function", "field_declaration": "variable"},
        frozenset({"mod_item", "declaration_list"}),
        {"use_declaration": _dotted},
    ),
    "java": _Spec(
        ("tree_sitter_java", "language"),
        {"class_declaration": "class", "interface_declaration": "class", "enum_declaration": "class",
         "record_declaration": "class", "annotation_type_declaration": "class", "method_declaration": "function",
         "constructor_declaration": "function", "field_declaration": "variable", "constant_declaration": "variable"},
        frozenset(),
        {"import_declaration": _dotted},
    ),
    "c": _Spec(("tree_sitter_c", "language"), _C_DEFS, frozenset({"linkage_specification", "declaration_list"}),
               {"preproc_include": _quoted}),
    "cpp": _Spec(
        ("tree_sitter_cpp", "language"), _CPP_DEFS,
        frozenset({"namespace_definition", "declaration_list", "template_declaration", "linkage_specification"}),
        {"preproc_include": _quoted},
    ),
}
SPECS["javascriptreact"] = SPECS["javascript"]
_WRAPPERS = frozenset({
    "export_statement", "lexical_declaration", "variable_declaration", "type_declaration", "const_declaration",
    "var_declaration", "template_declaration", "ambient_declaration",
})
_LOCAL = threading.local()
_BRACKET_SPACE = re.compile(r"([(\[{]) | ([)\]}])")  # what joining a multi-line signature leaves: "( a, b )"
_NAME_TYPES = frozenset({
    "identifier", "type_identifier", "field_identifier", "property_identifier", "namespace_identifier",
    "private_property_identifier", "primitive_type", "qualified_identifier", "scoped_identifier", "destructor_name",
    "operator_name", "package_identifier",
})


def _parser(language: str):  # -> tree_sitter.Parser
    parsers = _LOCAL.__dict__.setdefault("parsers", {})
    if language not in parsers:
        import tree_sitter

        module, func = SPECS[language].grammar
        parsers[language] = tree_sitter.Parser(tree_sitter.Language(getattr(importlib.import_module(module), func)()))
    return parsers[language]


def _name(node) -> str:
    """The name a definition node introduces ("" when it has none, e.g. a bare ``declaration``)."""
    for field in ("name", "declarator", "left", "type"):
        child = node.child_by_field_name(field)
        if child is None:
            continue
        if child.type in _NAME_TYPES:
            return child.text.decode("utf-8", "replace").rsplit("::", 1)[-1]
        if field == "left":  # ``a.b = 1`` defines nothing new
            return ""
        if field != "type" or node.type == "impl_item":
            return _name(child)
    for child in node.named_children:  # go var_spec, cpp template types
        if child.type in _NAME_TYPES:
            return child.text.decode("utf-8", "replace")
    return ""


def _outer(node):
    """The node whose text starts the definition: a wrapper holding only it (``export``,
    ``const x = …``, Go's ``type``), else the node itself (decorators stay out)."""
    parent = node.parent
    if parent is not None and parent.type in _WRAPPERS and parent.named_child_count == 1:
        return parent
    return node


def _header(node, src: bytes) -> str:
    """The signature: the node's text up to its body, on one line, cut to ``HEADER_CHARS``."""
    body = node.child_by_field_name("body")
    end = body.start_byte if body is not None and node.type not in ("assignment", "variable_declarator") else node.end_byte
    text = src[_outer(node).start_byte : end].decode("utf-8", "replace")
    if body is None or node.type in ("assignment", "variable_declarator"):
        text = text.split("\n", 1)[0]
    text = _BRACKET_SPACE.sub(r"\1\2", " ".join(text.split()))
    return text[:HEADER_CHARS]


def _doc_line(node, body) -> str:
    """The first line of the docstring (Python) or of the comment right above the definition."""
    if body is not None and body.named_child_count:
        first = body.named_children[0]
        if first.type == "expression_statement" and first.named_child_count and first.named_children[0].type == "string":
            text = first.named_children[0].text.decode("utf-8", "replace").strip("\"' \n")
            return text.strip().split("\n", 1)[0].strip()
    prev = _outer(node).prev_named_sibling
    if prev is not None and "comment" in prev.type and prev.end_point[0] >= node.start_point[0] - 1:
        for line in prev.text.decode("utf-8", "replace").split("\n"):
            line = line.strip().lstrip("/*!#").strip().rstrip("*/").strip()
            if line:
                return line
    return ""


def _definitions(node, spec: _Spec, out: list, depth: int = 0) -> None:
    """Definition nodes under ``node``: its children, through containers (``export``,
    decorators, namespaces) — not into bodies."""
    for child in node.named_children:
        if child.type in spec.defs:
            out.append(child)
        elif child.type in spec.containers and depth < 6:
            _definitions(child, spec, out, depth + 1)


def _describe(node, spec: _Spec, src: bytes, language: str) -> str:
    """The compact text of a definition node: its signature, doc line and members' signatures."""
    header = _header(node, src)
    body = node.child_by_field_name("body")
    doc = _doc_line(node, body)
    indent = "    "
    lines = [header]
    if doc and language == "python":
        lines.append(f'{indent}"""{doc}"""')
    elif doc:
        lines.insert(0, f"// {doc}")
    members: list[str] = []
    if spec.defs.get(node.type) == "class" and body is not None:
        inner: list = []
        _definitions(body, spec, inner)
        for m in inner[:MEMBERS]:
            members.append(indent + _header(m, src))
    return "\n".join(lines + members) + "\n"


def parse(text: str, language: str) -> FileFacts:
    """The definitions and imports of a file of ``language`` (an LSP languageId)."""
    spec = SPECS.get(language)
    if spec is None:
        return _fallback(text, language)
    src = text.encode("utf-8", "replace")
    root = _parser(language).parse(src).root_node
    nodes: list = []
    _definitions(root, spec, nodes)
    definitions: list[Definition] = []
    for node in nodes[:DEFINITIONS]:
        name = _name(node)
        if name and not name.startswith("__"):
            definitions.append(Definition(name, spec.defs[node.type], node.start_point[0], _describe(node, spec, src, language)))
    imports: list[str] = []
    for child in root.named_children:
        _imports(child, spec, imports)
    # The module's outline comes from the same line rules as an open document's: a file
    # reads the same to the model whether it is open or not (and the cross-file bench
    # measured the usage outline built from these lines).
    return FileFacts(language, tuple(definitions), tuple(dict.fromkeys(imports)), outline(text))


def _imports(node, spec: _Spec, out: list[str], depth: int = 0) -> None:
    get = spec.imports.get(node.type)
    if get is not None:
        out.extend(m for m in get(node.text.decode("utf-8", "replace")) if m)
    elif depth < 3 and node.type in ("import_declaration", "import_spec_list", "preproc_ifdef", "preproc_if", "export_statement"):
        for child in node.named_children:
            _imports(child, spec, out, depth + 1)


_FALLBACK_NAME = re.compile(
    r"^(?:(?:export|default|pub|public|private|protected|static|async|abstract|final|open|inline|def|class|function|func|fn"
    r"|struct|enum|trait|interface|type|module|const|let|var|val|object|fun|sub|proc|local)\s+)+([A-Za-z_][A-Za-z0-9_]*)"
)
_FALLBACK_IMPORT = re.compile(r"""^\s*(?:import|require|require_relative|use|using|include|from)\b\s*\(?\s*['"]?([\w./:-]+)""", re.M)


def _fallback(text: str, language: str) -> FileFacts:
    """Today's line rules (``extra_context.outline``) for a language without a grammar."""
    head = outline(text)
    definitions = []
    for line in head.splitlines(keepends=True):
        m = _FALLBACK_NAME.match(line)
        if m and not line[:1].isspace():
            definitions.append(Definition(m.group(1), "other", -1, line))
    imports = tuple(dict.fromkeys(_FALLBACK_IMPORT.findall(text[:20000])))
    return FileFacts(language, tuple(definitions[:DEFINITIONS]), imports, head)
