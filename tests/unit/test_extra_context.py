"""Extra context: chunking, ranking, the sources' state, and its place in the prompt."""

from __future__ import annotations

from dataclasses import dataclass

from codeshell_lsp import extra_context as xc
from codeshell_lsp import fim, prompt
from codeshell_lsp.context import Cursor
from codeshell_lsp.extra_context import Chunk, Extra, Sources
from codeshell_lsp.kvplan import plan
from codeshell_lsp.kvstore import write_private
from codeshell_lsp.options import CompletionSettings

UTILS = '''"""Helpers."""
import os

DEFAULT_PORT = 8080


def read_config(path):
    with open(path) as f:
        return f.read()


class Registry:
    def register(self, name, value):
        self.items[name] = value

    def lookup(self, name):
        return self.items[name]
'''

MAIN = '''from . import utils


def start(path):
    text = utils.'''

VOCAB = {"<fim_prefix>": 1000, "<fim_suffix>": 1001, "<fim_middle>": 1002, "<|endoftext|>": 1003, "<|file_sep|>": 1004}


@dataclass
class CharModel:
    """A model whose tokens are characters (exact counts, no special-token surprises)."""

    fim: object
    context_length: int = 8192

    def count_tokens(self, text: str) -> int:
        return len(text)

    def tokenize(self, text: str) -> list[int]:
        return [ord(ch) for ch in text]


def codeshell() -> fim.Template:
    return fim.bind("codeshell", VOCAB, None)[0]


def extra(*chunks: Chunk, tokens: int = 4096, max_chunks: int = 8) -> Extra:
    return Extra(chunks, tokens, max_chunks, "pkg/main.py", "python")


def chunk(text: str, order: tuple[int, int], path: str = "pkg/utils.py") -> Chunk:
    return Chunk(path, "python", text, order)


def test_chunks_are_whole_top_level_statements_within_the_line_limit():
    chunks = xc.chunk_lines(UTILS, max_lines=8)
    assert "".join(t for _, t in chunks).replace("\n", "") == UTILS.replace("\n", "")
    assert [s for s, _ in chunks] == [0, 6, 11]
    assert chunks[1][1].startswith("def read_config") and chunks[2][1].startswith("class Registry")
    assert all(t.count("\n") <= 8 for _, t in chunks)


def test_a_statement_longer_than_the_limit_is_cut_every_limit_lines():
    text = "def f():\n" + "    x = 1\n" * 20
    assert [s for s, _ in xc.chunk_lines(text, max_lines=8)] == [0, 8, 16]


def test_outline_keeps_definition_lines_and_top_level_names():
    assert xc.outline(UTILS) == (
        "DEFAULT_PORT = 8080\ndef read_config(path):\nclass Registry:\n"
        "    def register(self, name, value):\n    def lookup(self, name):\n"
    )


def test_imported_modules_by_stem_with_the_name_the_code_uses():
    text = "from . import utils\nimport a.b as c, d\nfrom pkg.models import User\nfrom . import (nodes,\n  x as y)\nconst q = require('./lib/db.js')\n"
    got = xc.imported_modules(text)
    assert {k: got[k] for k in ("utils", "b", "d", "models", "nodes", "x", "db")} == {
        "utils": "utils", "b": "c", "d": "d", "models": "", "nodes": "nodes", "x": "y", "db": ""
    }


def test_a_usage_outline_puts_the_alias_before_each_top_level_name():
    assert xc.qualified(xc.outline(UTILS), "utils") == (
        "utils.DEFAULT_PORT = 8080\nutils.read_config(path)\nutils.Registry\n"
    )


def test_jaccard_ignores_common_keywords():
    assert xc.identifiers("def return self items") == frozenset({"items"})
    assert xc.jaccard(frozenset({"a1", "b1"}), frozenset({"b1", "c1"})) == 1 / 3
    assert xc.jaccard(frozenset(), frozenset({"a1"})) == 0.0


def test_outline_of_an_imported_module_ranks_first():
    s = Sources()
    s.open("file:///p/pkg/utils.py", "python", UTILS)
    s.open("file:///p/pkg/other.py", "python", "def read_config(x):\n    return x\n")
    s.open("file:///p/pkg/main.py", "python", MAIN)
    got = s.select("file:///p/pkg/main.py", Cursor(MAIN, "\n"))
    assert got[0].kind == "usage" and got[0].path.endswith("utils.py")
    assert got[0].text.startswith("utils.DEFAULT_PORT")
    placed = prompt.choose(Extra(got, 4096, 8), lambda ch: len(ch.text), 4096)
    assert placed[-1] == got[0]  # nearest the prefix


def test_a_chunk_that_copies_the_cursor_context_is_dropped_and_near_duplicates_once():
    body = "def compute_total(items, tax_rate):\n    subtotal = sum(items)\n    return subtotal * tax_rate\n"
    s = Sources()
    s.open("file:///a.py", "python", body)
    s.open("file:///b.py", "python", body + "\n")
    s.open("file:///c.py", "python", "x = compute_total(values, 2)\n")
    picked = s.select("file:///c.py", Cursor("y = compute_total(items, tax_rate)\nz = subtotal\n" + "\n" * (xc.QUERY_GRID - 2), ""))
    assert [c.kind for c in picked] == ["outline"]
    near = s.select("file:///c.py", Cursor("result = compute_total(prices, tax_rate)\nprint(result)\n" + "\n" * (xc.QUERY_GRID - 2), ""))
    lines = [c for c in near if c.kind == "lines"]
    assert len(lines) == 1


def test_recent_edits_are_boosted_at_the_next_choice():
    s = Sources()
    s.open("file:///a.py", "python", "def alpha_one():\n    pass\n")
    s.open("file:///b.py", "python", "def beta_two():\n    pass\n")
    s.open("file:///c.py", "python", "")
    cursor = Cursor("x = 1\n", "")
    assert s.select("file:///c.py", cursor) == ()  # nothing in common, nothing recent
    s.change("file:///b.py", "def beta_two():\n    return 2\n", [1])
    s.focus("file:///c.py")
    assert s.select("file:///c.py", cursor) == ()  # back in c: its choice (and KV) as it was
    moved = Cursor("x = 1\n" * (xc.QUERY_GRID + 1), "")  # the cursor's context moved on
    got = s.select("file:///c.py", moved)
    assert got and all(c.path == "b.py" for c in got)


def test_closing_a_document_removes_its_chunks():
    s = Sources()
    s.open("file:///p/utils.py", "python", UTILS)
    s.open("file:///p/main.py", "python", MAIN)
    assert s.select("file:///p/main.py", Cursor(MAIN, ""))
    s.close("file:///p/utils.py")
    assert s.select("file:///p/main.py", Cursor(MAIN, "")) == ()
    assert "file:///p/utils.py" not in s and "file:///p/main.py" in s


def test_the_choice_stays_put_while_the_user_types_on_one_line():
    s = Sources()
    s.open("file:///p/utils.py", "python", UTILS)
    s.open("file:///p/other.py", "python", "def lookup_table(registry):\n    return registry.items\n")
    s.open("file:///p/main.py", "python", MAIN)
    line = "    value = registry.lookup_something_long"
    picks = {s.select("file:///p/main.py", Cursor(MAIN + "\n" + line[:i], "")) for i in range(len(line))}
    assert len(picks) == 1


def test_usage_lines_sharing_words_with_the_cursor_context_come_last():
    usage = "m.DEFAULT_PORT = 1\nm.MAX_REDIRECTS = 3\nm.read_config(path)\n"
    near = xc.words("if nb_redirects > limit:\n    config = None\n")
    assert xc.by_relevance(usage, near) == "m.DEFAULT_PORT = 1\nm.MAX_REDIRECTS = 3\nm.read_config(path)\n"
    assert xc.by_relevance(usage, xc.words("redirects")).endswith("m.MAX_REDIRECTS = 3\n")
    assert xc.words("IsCoroutineFunction nb_redirects") == {"coroutine", "redirects"}  # "function" is common


def test_the_query_ignores_what_is_typed_since_the_last_grid_line():
    head = "".join(f"alpha_{i} = {i}\n" for i in range(xc.QUERY_GRID))
    assert xc.query_text(Cursor(head + "beta = 1\ngam", "")) == xc.query_text(Cursor(head + "delta = 2\n", ""))


def test_display_path_is_relative_to_a_workspace_root():
    assert xc.display_path("file:///home/u/proj/pkg/a%20b.py", ["file:///home/u/proj"]) == "pkg/a b.py"
    assert xc.display_path("file:///tmp/x.py") == "tmp/x.py"
    assert xc.display_path("untitled:Untitled-1") == "untitled:Untitled-1"


def test_without_chunks_the_prompt_is_exactly_the_file_only_one():
    model = CharModel(codeshell())
    c = CompletionSettings()
    cursor = Cursor("def f():\n    return ", "\n")
    alone = prompt.build(cursor, c, model)
    assert prompt.build(cursor, c, model, None) == alone
    assert prompt.build(cursor, c, model, extra()) == alone
    assert alone.layout is not None and alone.layout.extra is None


def test_extra_context_goes_before_the_prefix_under_comment_headers():
    model = CharModel(codeshell())
    cursor = Cursor("x = utils.", "\n")
    p = prompt.build(cursor, CompletionSettings(), model, extra(chunk("def read_config(path):\n", (0, -1))))
    text = "".join(chr(t) if t < 1000 else f"[{t}]" for t in p.tokens)
    assert text == "# pkg/utils.py\ndef read_config(path):\n\n# pkg/main.py\n[1000]x = utils.[1001]\n[1002]"
    assert p.layout is not None and p.layout.extra == prompt.Span(0, text.index("[1000]"))
    assert p.layout.prefix.start == p.layout.extra.end + 1


def test_qwen_uses_its_file_separator_token():
    model = CharModel(fim.bind("qwen", {"<|fim_prefix|>": 1, "<|fim_suffix|>": 2, "<|fim_middle|>": 3, "<|file_sep|>": 4}, None)[0])
    p = prompt.build(Cursor("a", ""), CompletionSettings(), model, extra(chunk("b\n", (0, 0), "b.py")))
    assert list(p.tokens[: 1 + len("b.py\nb\n\n")]) == [4, *map(ord, "b.py\nb\n\n")]
    assert 4 in model.fim.stop_ids


def test_text_prompts_carry_the_same_context():
    qwen = fim.FAMILIES["qwen"]
    p = prompt.build(Cursor("a", "z"), CompletionSettings(), CharModel(qwen), extra(chunk("b\n", (0, 0), "b.py")))
    assert p.text == "<|file_sep|>b.py\nb\n\n<|file_sep|>pkg/main.py\n<|fim_prefix|>a<|fim_suffix|>z<|fim_middle|>"
    gemma = fim.FAMILIES["prefix-only"]
    p = prompt.build(Cursor("a", "z"), CompletionSettings(), CharModel(gemma), extra(Chunk("b.js", "", "b\n", (0, 0))))
    assert p.text == "// b.js\nb\n\n# pkg/main.py\na"


def test_chunks_fit_the_budget_and_the_cap_best_first_then_in_stable_order():
    big, small, late = chunk("x" * 50 + "\n", (0, 5)), chunk("y\n", (1, 0)), chunk("z\n", (0, 1))
    x = extra(late, big, small, tokens=60, max_chunks=8)
    p = prompt.build(Cursor("a", ""), CompletionSettings(), CharModel(codeshell()), x)
    assert p.chunks == (late, small)  # big did not fit; prompt order is (opened, line)
    p = prompt.build(Cursor("a", ""), CompletionSettings(), CharModel(codeshell()), extra(late, big, small, max_chunks=1))
    assert p.chunks == (late,)


def test_extra_context_never_crowds_out_the_window():
    model = CharModel(codeshell(), context_length=400)
    c = CompletionSettings(prompt_tokens=300, max_tokens=64)
    cursor = Cursor("a = 1\n" * 100, "")
    alone = prompt.build(cursor, c, model)
    room = 400 - 64 - prompt.TEMPLATE_SLACK - len(alone.prefix)
    assert prompt.build(cursor, c, model, extra(chunk("x" * (room - 20) + "\n", (0, 0)))) == alone
    assert prompt.build(cursor, c, model, extra(chunk("x" * (room - 40) + "\n", (0, 0)))).prefix == alone.prefix


def test_a_keystroke_with_the_same_chunks_reuses_every_extra_token():
    model = CharModel(codeshell())
    x = extra(chunk("def read_config(path):\n", (0, -1)))
    before = prompt.build(Cursor("x = utils.re", "\n"), CompletionSettings(), model, x)
    after = prompt.build(Cursor("x = utils.rea", "\n"), CompletionSettings(), model, x)
    p = plan(before.tokens, before.layout.suffix, after.tokens, after.layout.suffix)
    assert p.keep >= after.layout.extra.end


def test_comment_header_follows_the_language():
    assert fim.comment_header("a.py", "python") == "# a.py\n"
    assert fim.comment_header("a.rs") == "// a.rs\n"
    assert fim.comment_header("a.lua", "lua") == "-- a.lua\n"
    assert fim.comment_header("README") == "# README\n"


def test_the_choice_is_remembered_until_something_it_depends_on_changes():
    s = Sources()
    s.open("file:///p/utils.py", "python", UTILS)
    s.open("file:///p/main.py", "python", MAIN)
    first = s.select("file:///p/main.py", Cursor(MAIN, ""))
    s.change("file:///p/main.py", MAIN + "x", [4])  # typing in the current file: same choice, not recomputed
    assert s.select("file:///p/main.py", Cursor(MAIN + "x", "")) is first
    s.change("file:///p/utils.py", UTILS + "\ndef extra_helper():\n    pass\n", [18])
    assert s.select("file:///p/main.py", Cursor(MAIN + "x", "")) is first  # back from an edit elsewhere: kept
    s.open("file:///p/other.py", "python", "def lookup_table(registry):\n    return registry.items\n")
    again = s.select("file:///p/main.py", Cursor(MAIN + "x", ""))  # a document opened: chosen again
    assert again is not first and "utils.extra_helper()" in again[0].text
    moved = MAIN.replace("def start", "\n" * xc.QUERY_GRID + "def start")
    assert s.select("file:///p/main.py", Cursor(moved + "x", "")) is not again  # the cursor's context moved


def test_while_documents_are_being_indexed_a_choice_is_made_again_only_every_few_seconds(monkeypatch):
    """A document cut into chunks (or a workspace file indexed) after a choice does not
    make every keystroke choose again; the choice is made again after
    INDEXING_RECHOOSE_S. A document opened or closed counts at once."""
    now = [1000.0]
    monkeypatch.setattr(xc.time, "monotonic", lambda: now[0])
    s = Sources(budget_ms=0)  # no time to cut anything at the request: the indexer's work
    s.open("file:///p/utils.py", "python", UTILS)
    s.open("file:///p/main.py", "python", MAIN)
    first = s.select("file:///p/main.py", Cursor(MAIN, ""))
    assert first == ()  # utils.py is not cut yet
    s._index(s._docs["file:///p/utils.py"])  # the indexer cuts it
    assert s.select("file:///p/main.py", Cursor(MAIN, "")) is first
    now[0] += xc.INDEXING_RECHOOSE_S
    again = s.select("file:///p/main.py", Cursor(MAIN, ""))
    assert again and "utils." in again[0].text
    now[0] += 100 * xc.INDEXING_RECHOOSE_S
    assert s.select("file:///p/main.py", Cursor(MAIN, "")) is again  # complete now: kept however long
    s.close("file:///p/utils.py")
    assert s.select("file:///p/main.py", Cursor(MAIN, "")) == ()


def test_selecting_a_prompt_tokenizes_nothing_and_keys_it_like_the_assembled_one():
    class Counting(CharModel):
        tokenized = 0

        def tokenize(self, text: str) -> list[int]:
            Counting.tokenized += 1
            return super().tokenize(text)

    model = Counting(codeshell())
    x = extra(chunk("def read_config(path):\n", (0, -1)))
    sel = prompt.select(Cursor("x = read_config(", ")\n"), CompletionSettings(), model, x)
    assert Counting.tokenized == 0  # a completion-cache hit needs only the selection
    p = prompt.assemble_selection(sel, model)
    assert p.key == sel.key and p.chunks == sel.chunks and Counting.tokenized > 0
    assert p == prompt.build(Cursor("x = read_config(", ")\n"), CompletionSettings(), model, x)


def test_the_query_reads_the_same_lines_as_splitting_the_whole_document():
    """query_text splits only the end of the prefix and the start of the suffix; it must
    read what splitting everything would (\\n, \\r\\n and \\r line ends, long lines, a
    cursor between \\r and \\n)."""
    import random

    from codeshell_lsp.budget import split_lines

    def whole(cursor: Cursor) -> str:
        lines = split_lines(cursor.prefix[: max(cursor.prefix.rfind("\n"), cursor.prefix.rfind("\r")) + 1])
        end = (len(lines) // xc.QUERY_GRID) * xc.QUERY_GRID
        return "".join(lines[max(0, end - xc.QUERY_LINES) : end] + split_lines(cursor.suffix)[1:9])

    rng = random.Random(7)
    for _ in range(1500):
        n, width = rng.choice([0, 1, 7, 8, 9, 48, 49, 57, 300]), rng.choice([0, 3, 60, 5000])
        text = "".join("x" * rng.randint(0, width) + rng.choice(["\n", "\r\n", "\r"]) for _ in range(n)) + "tail"
        at = rng.randint(0, len(text))
        cursor = Cursor(text[:at], text[at:])
        assert xc.query_text(cursor) == whole(cursor)


def test_after_a_restart_each_document_first_chooses_what_the_last_run_chose(tmp_path):
    def opened() -> Sources:
        s = Sources()
        s.open("file:///p/utils.py", "python", UTILS)
        s.open("file:///p/other.py", "python", "def lookup_table(registry):\n    return registry.items\n")
        s.open("file:///p/main.py", "python", MAIN)
        return s

    before = opened()
    chosen = before.select("file:///p/main.py", Cursor(MAIN, ""))
    write_private(tmp_path / "context" / "ctx.json", before.choices())  # as the server keeps them
    assert oct((tmp_path / "context" / "ctx.json").stat().st_mode & 0o777) == "0o600"
    assert oct((tmp_path / "context").stat().st_mode & 0o777) == "0o700"
    saved = (tmp_path / "context" / "ctx.json").read_bytes()

    after = opened()
    after.change("file:///p/utils.py", UTILS + "\ndef later_helper():\n    pass\n", [18])  # edited since
    after.take_choices(saved)
    assert after.select("file:///p/main.py", Cursor(MAIN, "")) == chosen  # what the saved KV holds
    fresh = opened()
    fresh.change("file:///p/utils.py", UTILS + "\ndef later_helper():\n    pass\n", [18])
    assert "later_helper" in fresh.select("file:///p/main.py", Cursor(MAIN, ""))[0].text  # without it: the new text

    moved = opened()
    moved.take_choices(saved)
    elsewhere = Cursor(MAIN.replace("text = utils.", "\n" * 20 + "value = other."), "")
    assert moved.select("file:///p/main.py", elsewhere) != chosen  # another place: chosen afresh

    gone = Sources()
    gone.open("file:///p/main.py", "python", MAIN)
    gone.take_choices(saved)
    assert gone.select("file:///p/main.py", Cursor(MAIN, "")) == ()  # its documents are not open

    broken = opened()
    broken.take_choices(b"{not json")
    broken.take_choices(b'{"version": 1, "memos": {"file:///p/main.py": {"key": 3}}}')
    assert broken.select("file:///p/main.py", Cursor(MAIN, "")) == chosen


def test_once_the_workspace_is_walked_a_choice_made_before_is_made_again_at_once(tmp_path):
    """A choice made while the workspace was being indexed waits INDEXING_RECHOOSE_S for
    more files; the end of the first walk does not wait: the next keystroke chooses again."""
    import time as _time

    from codeshell_lsp.workspace_index.index import WorkspaceIndex

    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg/__init__.py").write_text("")
    (tmp_path / "pkg/util.py").write_text("def parse_header(line):\n    return line.split(':', 1)\n")
    main = "from . import util\n\n\ndef read(lines):\n    return [util."
    uri = (tmp_path / "pkg/main.py").as_uri()
    (tmp_path / "pkg/main.py").write_text(main)
    s = Sources()
    s.start_indexer()
    s.open(uri, "python", main)
    index = WorkspaceIndex([str(tmp_path)], 100)
    s.attach(index)  # not walked yet
    for _ in range(200):
        if not s._pending and not s._cutting:  # main.py is cut
            break
        _time.sleep(0.01)
    before = s.select(uri, Cursor(main, "]\n"))
    assert not any("parse_header" in c.text for c in before)
    index.start()
    assert index.wait_idle(10) and index.walked
    after = s.select(uri, Cursor(main, "]\n"))
    assert any("parse_header" in c.text for c in after), after
    index.close()
