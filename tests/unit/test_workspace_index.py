"""The workspace index: gitignore rules, what the walk skips, the cap, parsing per
language, and how a file's imports and nearby names resolve to definitions."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from codeshell_lsp.context import Cursor
from codeshell_lsp.extra_context import Sources, identifiers
from codeshell_lsp.workspace_index import WorkspaceIndex
from codeshell_lsp.workspace_index import gitignore
from codeshell_lsp.workspace_index.index import MAX_FILE_BYTES, walk
from codeshell_lsp.workspace_index.parse import parse


@pytest.mark.parametrize(
    "patterns, path, is_dir, expected",
    [
        ("*.log", "a.log", False, True),
        ("*.log", "deep/down/a.log", False, True),
        ("*.log", "a.logx", False, False),
        ("build/", "build", True, True),
        ("build/", "src/build", True, True),
        ("build/", "build", False, False),  # a file named build is not a folder
        ("/build", "src/build", True, False),  # anchored to the .gitignore's folder
        ("/build", "build", True, True),
        ("doc/*.txt", "doc/a.txt", False, True),
        ("doc/*.txt", "doc/sub/a.txt", False, False),  # * does not cross /
        ("doc/**/*.txt", "doc/sub/deeper/a.txt", False, True),
        ("doc/**/*.txt", "doc/a.txt", False, True),
        ("**/cache", "x/y/cache", True, True),
        ("out/**", "out/a/b.py", False, True),
        ("out/**", "out", True, False),
        ("*.py\n!keep.py", "keep.py", False, False),  # the last matching rule wins
        ("!keep.py\n*.py", "keep.py", False, True),
        ("file?.c", "file1.c", False, True),
        ("file?.c", "file10.c", False, False),
        ("[ab].c", "b.c", False, True),
        ("[!ab].c", "b.c", False, False),
        ("# comment\n\n", "# comment", False, False),
        ("\\#hash", "#hash", False, True),
    ],
)
def test_gitignore_rules(patterns, path, is_dir, expected):
    assert gitignore.ignored(gitignore.parse(patterns), path, is_dir) is expected


def test_nested_gitignore_applies_below_its_folder_and_wins_over_the_parent():
    rules = gitignore.parse("*.gen.py\n") + gitignore.parse("!keep.gen.py\nlocal/\n", "sub")
    assert gitignore.ignored(rules, "a.gen.py", False)
    assert gitignore.ignored(rules, "sub/x.gen.py", False)
    assert not gitignore.ignored(rules, "sub/keep.gen.py", False)
    assert gitignore.ignored(rules, "keep.gen.py", False) is True  # the negation is sub's only
    assert gitignore.ignored(rules, "sub/local", True)
    assert not gitignore.ignored(rules, "local", True)


def _tree(root: Path, files: dict[str, str | bytes]) -> None:
    for rel, content in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content if isinstance(content, bytes) else content.encode())


def test_walk_skips_ignored_binary_huge_non_code_and_vcs(tmp_path):
    _tree(tmp_path, {
        ".gitignore": "build/\n*.gen.py\n",
        "src/a.py": "def a(): pass\n",
        "src/b.gen.py": "def b(): pass\n",
        "src/sub/.gitignore": "secret.py\n",
        "src/sub/secret.py": "X = 1\n",
        "src/sub/c.go": "package sub\nfunc C() {}\n",
        "build/out.py": "def out(): pass\n",
        ".git/hooks/x.py": "def hook(): pass\n",
        "notes.md": "# notes\n",
        "blob.py": b"def x():\0\0\0 pass\n",
        "big.py": "x = 1\n" * (MAX_FILE_BYTES // 6 + 10),
    })
    found = sorted(os.path.relpath(p, tmp_path) for p, st in walk(str(tmp_path), 100) if st is not None)
    assert found == ["blob.py", "src/a.py", "src/sub/c.go"]  # blob.py is caught when read
    index = WorkspaceIndex([str(tmp_path)], 100)
    index.start()
    assert index.wait_idle(30)
    assert sorted(os.path.relpath(p, tmp_path) for p in index._files) == ["src/a.py", "src/sub/c.go"]


def test_a_walk_through_folders_without_code_stops_too(tmp_path):
    for i in range(1002):
        (tmp_path / f"d{i:04}").mkdir()
    (tmp_path / "d1001" / "late.py").write_text("x = 1\n")
    assert list(walk(str(tmp_path), 100)) == [(str(tmp_path), None)]  # 10 folders per file of the cap


def test_the_cap_stops_the_walk_and_says_so(tmp_path):
    _tree(tmp_path, {f"m{i}.py": f"def f{i}(): pass\n" for i in range(5)})
    index = WorkspaceIndex([str(tmp_path)], 3)
    index.start()
    assert index.wait_idle(30)
    p = index.progress()
    assert (p.indexed, p.done, p.capped) == (3, True, True)
    roomy = WorkspaceIndex([str(tmp_path)], 5)
    roomy.start()
    assert roomy.wait_idle(30)
    assert (len(roomy), roomy.progress().capped) == (5, False)


SOURCES = {
    "python": ('import os\nfrom .models import User\n\nclass Shop(Base):\n    """Sells things.\n\n    More."""\n'
               '    def buy(self, item: str) -> bool:\n        return True\n\ndef helper(a, b=2):\n    return a\n\nLIMIT = 3\n',
               {"Shop": "class", "helper": "function", "LIMIT": "variable"}, ["os", ".models"]),
    "javascript": ('import x from "./util.js";\n// Adds two numbers.\nexport function add(a, b) { return a + b }\n'
                   'export const mul = (a, b) => a * b;\nclass K { constructor(x) { this.x = x } get y() { return 1 } }\n',
                   {"add": "function", "mul": "variable", "K": "class"}, ["./util.js"]),
    "typescript": ('import { A } from "./a";\nexport interface Shape { area(): number }\nexport type Id = string;\n'
                   'export class Circle implements Shape { area(): number { return 1 } }\n',
                   {"Shape": "class", "Id": "type", "Circle": "class"}, ["./a"]),
    "go": ('package p\nimport (\n\t"fmt"\n\tm "a/b/mod"\n)\n// Foo does x.\nfunc Foo(a int) (int, error) { return 0, nil }\n'
           'func (s *S) Bar() {}\ntype S struct { A int }\nconst X = 1\n',
           {"Foo": "function", "Bar": "function", "S": "type", "X": "variable"}, ["fmt", "a/b/mod"]),
    "rust": ('use crate::a::b;\n/// A point.\npub struct P { x: i32 }\nimpl P { pub fn new() -> Self { P { x: 1 } } }\n'
             'pub trait T { fn m(&self); }\nconst K: i32 = 1;\n',
             {"P": "class", "T": "class", "K": "variable"}, ["crate.a.b"]),
    "java": ('import java.util.List;\n/** A thing. */\npublic class Thing { private int n; public int get() { return n; } }\n',
             {"Thing": "class"}, ["java.util.List"]),
    "c": ('#include "foo.h"\nstruct S { int a; };\ntypedef struct { int b; } T;\nint add(int a, int b) { return a + b; }\n',
          {"S": "class", "T": "type", "add": "function"}, ["foo.h"]),
    "cpp": ('#include <vector>\nnamespace ns { class C : public B { public: int m(int x); }; }\n'
            'template <typename T> T id(T x) { return x; }\n',
            {"C": "class", "id": "function"}, ["vector"]),
}


@pytest.mark.parametrize("language", sorted(SOURCES))
def test_parse_finds_definitions_and_imports(language):
    text, kinds, imports = SOURCES[language]
    facts = parse(text, language)
    assert {d.name: d.kind for d in facts.definitions} | kinds == {d.name: d.kind for d in facts.definitions}
    assert kinds.keys() <= {d.name for d in facts.definitions}
    assert set(imports) <= set(facts.imports)


def test_definitions_are_compact_signatures_with_docs_and_members():
    facts = parse(SOURCES["python"][0], "python")
    shop = next(d for d in facts.definitions if d.name == "Shop")
    assert shop.text == 'class Shop(Base):\n    """Sells things."""\n    def buy(self, item: str) -> bool:\n'
    assert "return" not in facts.outline and "def buy" in facts.outline
    go = {d.name: d.text for d in parse(SOURCES["go"][0], "go").definitions}
    assert go["Foo"] == "// Foo does x.\nfunc Foo(a int) (int, error)\n"
    rust = [d.text for d in parse(SOURCES["rust"][0], "rust").definitions if d.name == "P"]
    assert rust == ["// A point.\npub struct P\n    x: i32\n", "impl P\n    pub fn new() -> Self\n"]


def test_languages_without_a_grammar_use_the_line_rules():
    facts = parse("require 'json'\nclass Foo\n  def bar(x)\n  end\nend\ndef top; end\n", "ruby")
    assert [d.name for d in facts.definitions] == ["Foo", "top"]
    assert facts.imports == ("json",)


PROJECT = {
    "pkg/__init__.py": "",
    "pkg/models.py": 'class User:\n    """A user of the shop."""\n    def rename(self, name): pass\n\ndef make_user(name):\n    return User()\n',
    "pkg/util.py": "def parse_header(line):\n    return line\n\ndef format_header(name, value):\n    return name\n",
    "other/util.py": "def unrelated(): pass\n",
    "pkg/main.py": "from . import util\nfrom .models import User\n\n\ndef read(lines):\n    return [util.]\n",
}


def _indexed(root: Path, files: dict[str, str], cap: int = 100) -> WorkspaceIndex:
    _tree(root, files)
    index = WorkspaceIndex([str(root)], cap)
    index.start()
    assert index.wait_idle(30)
    return index


def test_imports_resolve_to_the_nearest_module_and_names_to_definitions(tmp_path):
    index = _indexed(tmp_path, PROJECT)
    main = (tmp_path / "pkg/main.py").as_uri()
    got = index.candidates(main, {"util": "util", "models": "", "User": "User"}, frozenset({"make_user"}), [], 32)
    by = {(c.path, c.kind): (c, ids, boost) for c, ids, boost in got}
    assert ("other/util.py", "outline") not in by  # the sibling module, not any util.py
    util, ids, boost = by[("pkg/util.py", "outline")]
    assert util.text == "def parse_header(line):\ndef format_header(name, value):\n" and "parse_header" in ids
    user = [c.text for c, _, _ in got if c.kind == "definition" and c.text.startswith("class User")]
    assert user == ['class User:\n    """A user of the shop."""\n    def rename(self, name):\n']
    assert any(c.text.startswith("def make_user(name):") for c, _, _ in got)
    assert [boost for (_, kind), (_, _, boost) in by.items() if kind == "outline"] == [1.0, 1.0]  # util, models


def test_open_documents_outlines_and_the_current_file_are_left_to_sources(tmp_path):
    index = _indexed(tmp_path, PROJECT)
    main = (tmp_path / "pkg/main.py").as_uri()
    got = index.candidates(main, {"util": "util"}, frozenset({"read"}), [(tmp_path / "pkg/util.py").as_uri()], 32)
    assert all(c.path not in ("pkg/util.py", "pkg/main.py") for c, _, _ in got)
    assert any(c.path == "pkg/models.py" for c, _, _ in got)  # not open: its outline comes from the index


def test_candidates_read_no_files(tmp_path):
    index = _indexed(tmp_path, PROJECT)
    for path in PROJECT:
        (tmp_path / path).unlink()
    got = index.candidates((tmp_path / "pkg/main.py").as_uri(), {"util": "util"}, frozenset({"User"}), [], 32)
    assert {c.path for c, _, _ in got} == {"pkg/util.py", "pkg/models.py"}


def test_saves_and_deletions_reach_the_index(tmp_path):
    index = _indexed(tmp_path, PROJECT)
    main = (tmp_path / "pkg/main.py").as_uri()
    version = index.version
    (tmp_path / "pkg/util.py").write_text("def split_header(line):\n    return line\n")
    index.update(str(tmp_path / "pkg/util.py"))
    assert index.wait_idle(30) and index.version > version
    texts = [c.text for c, _, _ in index.candidates(main, {"util": "util"}, frozenset(), [], 32) if c.path == "pkg/util.py"]
    assert texts == ["def split_header(line):\n"]
    (tmp_path / "pkg/util.py").unlink()
    index.remove(str(tmp_path / "pkg/util.py"))
    assert index.wait_idle(30)
    assert all(c.path != "pkg/util.py" for c, _, _ in index.candidates(main, {"util": "util"}, frozenset(), [], 32))


def test_refresh_reparses_what_changed_on_disk(tmp_path):
    index = _indexed(tmp_path, PROJECT)
    (tmp_path / "pkg/extra.py").write_text("def fresh_function(): pass\n")
    (tmp_path / "other/util.py").unlink()
    index.refresh()
    assert index.wait_idle(30)
    assert "fresh_function" in index._by_name and "unrelated" not in index._by_name


def test_a_module_name_alone_does_not_reach_a_file_deep_in_another_package(tmp_path):
    index = _indexed(tmp_path, {"vendor/lib/collections.py": "def deque_like(): pass\n", "app/main.py": "import collections\n"})
    assert index.candidates((tmp_path / "app/main.py").as_uri(), {}, frozenset(), [], 32) == []


def test_workspace_definitions_reach_the_chosen_chunks_as_a_usage_outline(tmp_path):
    index = _indexed(tmp_path, PROJECT)
    sources = Sources()
    sources.roots = [tmp_path.as_uri()]
    sources.workspace = index
    main = (tmp_path / "pkg/main.py").as_uri()
    sources.open(main, "python", PROJECT["pkg/main.py"])
    prefix = PROJECT["pkg/main.py"].rsplit("]", 1)[0]
    chosen = sources.select(main, Cursor(prefix, "]\n"))
    usage = [c for c in chosen if c.kind == "usage"]
    assert [c.path for c in usage] == ["pkg/util.py"]
    assert set(usage[0].text.splitlines()) == {"util.parse_header(line)", "util.format_header(name, value)"}
    # Opened in the editor, the file's own text wins over its copy on disk.
    sources.open((tmp_path / "pkg/util.py").as_uri(), "python", "def edited_header(line):\n    return line\n")
    chosen = sources.select(main, Cursor(prefix, "]\n"))
    assert [c.text for c in chosen if c.kind == "usage"] == ["util.edited_header(line)\n"]


def test_an_open_document_is_indexed_from_its_text_until_closed(tmp_path):
    index = _indexed(tmp_path, PROJECT)
    main = (tmp_path / "pkg/main.py").as_uri()
    models = (tmp_path / "pkg/models.py").as_uri()
    index.opened(models, "class User:\n    def rename(self, name, reason): pass\n")
    assert index.wait_idle(30)
    texts = [c.text for c, _, _ in index.candidates(main, {}, frozenset({"User"}), [models], 32) if c.kind == "definition"]
    assert texts == ["class User:\n    def rename(self, name, reason):\n"]
    index.closed(models)
    assert index.wait_idle(30)
    texts = [c.text for c, _, _ in index.candidates(main, {}, frozenset({"User"}), [], 32) if c.kind == "definition"]
    assert texts == ['class User:\n    """A user of the shop."""\n    def rename(self, name):\n']


SHOP = {
    "shop/__init__.py": "",
    "shop/money.py": "def to_cents(amount):\n    return round(amount * 100)\n\n\ndef from_cents(cents):\n    return cents / 100\n",
    "shop/basket.py": (
        "from . import money\n\n\ndef basket_total(items):\n    cents = sum(money.to_cents(i.price) for i in items)\n"
        "    return money.from_cents(cents)\n\n\ndef unrelated_helper():\n    return 42\n"
    ),
    "shop/invoice.py": (
        "from . import money\n\n\ndef invoice_total(items, tax):\n    # the sum of the items' prices\n"
        "    # with the tax on top, in cents\n    # (rounded once)\n    cents = 0\n    total = "
    ),
    "elsewhere/notes.py": "def basket_notes(items):\n    return [i.price for i in items]\n",
}


def test_a_file_importing_the_same_module_gives_its_line_chunks_as_an_open_document_would(tmp_path):
    index = _indexed(tmp_path, SHOP)
    invoice = (tmp_path / "shop/invoice.py").as_uri()
    query = identifiers("def invoice_total(items, tax):\n    total = money.to_cents(i.price) for i in items\n")
    got = index.candidates(invoice, {"money": "money"}, query, [], 32)
    lines = {(c.path, c.order[1]): c.text for c, _, _ in got if c.kind == "lines"}
    assert lines[("shop/basket.py", 0)] == SHOP["shop/basket.py"]
    assert all(path != "elsewhere/notes.py" for path, _ in lines)  # imports nothing the file imports
    # Opened in the editor, it is left to Sources.
    got = index.candidates(invoice, {"money": "money"}, query, [(tmp_path / "shop/basket.py").as_uri()], 32)
    assert all(c.path != "shop/basket.py" for c, _, _ in got)


def test_a_line_chunk_that_repeats_the_cursor_context_is_not_offered(tmp_path):
    index = _indexed(tmp_path, SHOP)
    invoice = (tmp_path / "shop/invoice.py").as_uri()
    query = identifiers(SHOP["shop/basket.py"].split("\n\n\ndef unrelated")[0])
    got = index.candidates(invoice, {"money": "money"}, query, [], 32)
    assert not [c for c, _, _ in got if c.kind == "lines" and c.text.startswith("def basket_total")]


def test_line_chunks_stop_at_their_memory_budget_and_go_with_their_file(tmp_path, monkeypatch):
    monkeypatch.setattr("codeshell_lsp.workspace_index.index.LINE_CHUNK_CHARS", len(SHOP["shop/basket.py"]) + 10)
    index = _indexed(tmp_path, SHOP)
    held = {f.shown for f in index._files.values() if f.chunks}
    assert held and sum(len(t) for f in index._files.values() for _, t, _ in f.chunks) <= len(SHOP["shop/basket.py"]) + 10
    assert index._chunk_chars == sum(len(t) for f in index._files.values() for _, t, _ in f.chunks)
    for path in held:
        index.remove(str(tmp_path / path))
    assert index.wait_idle(30) and index._chunk_chars == 0
    assert all(index._importers.values())


def test_with_nothing_else_open_the_index_gives_the_chunks_the_open_documents_would(tmp_path):
    _tree(tmp_path, SHOP)
    invoice = (tmp_path / "shop/invoice.py").as_uri()
    cursor = Cursor(SHOP["shop/invoice.py"], "\n")
    opened = Sources()
    opened.roots = [tmp_path.as_uri()]
    for path in ("shop/money.py", "shop/basket.py"):
        opened.open((tmp_path / path).as_uri(), "python", SHOP[path])
    opened.open(invoice, "python", SHOP["shop/invoice.py"])
    index = _indexed(tmp_path, SHOP)
    alone = Sources()
    alone.roots = [tmp_path.as_uri()]
    alone.attach(index)
    alone.open(invoice, "python", SHOP["shop/invoice.py"])
    assert index.wait_idle(30)

    def shown(chunks):
        return [(c.path, c.order, c.kind, c.text) for c in chunks if c.kind != "definition"]

    assert shown(alone.select(invoice, cursor)) == shown(opened.select(invoice, cursor))
    assert any(c.kind == "lines" and c.path == "shop/basket.py" for c in alone.select(invoice, cursor))


def test_files_importing_more_of_the_same_modules_come_first_then_the_nearest(tmp_path):
    index = _indexed(tmp_path, {
        "app/a.py": "def fa(): pass\n", "app/b.py": "def fb(): pass\n",
        "app/main.py": "from . import a\nfrom . import b\n",
        "app/near.py": "from . import a\n",
        "app/deep/far.py": "from .. import a\nfrom .. import b\n",
        "app/deep/er/farther.py": "from ... import a\n",
    })
    here = str(tmp_path / "app/main.py")
    modules = tuple(index._imports_of(index._files[here], here).values())
    assert {f.shown for f in modules} == {"app/a.py", "app/b.py"}
    assert [f.shown for f in index._importing(modules, here)] == ["app/deep/far.py", "app/near.py", "app/deep/er/farther.py"]
