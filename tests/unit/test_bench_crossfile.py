"""The cross-file set: holes that only another module can fill, and their scoring."""

from __future__ import annotations

import re

from codeshell_lsp.bench import crossfile
from codeshell_lsp.options import Settings


def test_every_hole_names_something_only_another_module_defines():
    holes = crossfile.holes()
    assert sum(h.kind == "member" for h in holes) >= 40
    assert {h.project for h in holes} >= {"jinja2", "fire", "huggingface_hub"}
    for h in holes:
        text = h.prefix + (h.target if h.kind == "member" else h.target) + h.suffix
        assert h.module != h.path
        if h.kind == "member":
            assert h.prefix.endswith(".") and text.count(h.target) >= 1
            assert len(re.findall(rf"\b{h.target}\b", text)) == 1
            assert h.target in crossfile.definitions((crossfile.DATA / h.project / h.module).read_text(encoding="utf-8"))
        else:
            assert h.prefix.endswith("\n") and (h.suffix == "" or h.suffix.startswith("\n"))


def test_every_project_records_its_licence():
    sources = (crossfile.DATA / "SOURCES.md").read_text(encoding="utf-8")
    for project in (p for p in crossfile.DATA.iterdir() if p.is_dir()):
        assert f"`{project.name}/`" in sources
        assert any(f.name.startswith("LICENSE") for f in project.iterdir())


def test_member_holes_score_the_first_identifier_and_lines_exact_match():
    member = crossfile.Hole("p", "p/a.py", "member", "x = b.", "(1)\n", "Name", "p/b.py")
    assert crossfile.correct(member, "Name(1)")
    assert not crossfile.correct(member, "NameError")
    assert not crossfile.correct(member, " Name")
    line = crossfile.Hole("p", "p/a.py", "line", "def f():\n", "\n", "    return b.Name", "p/b.py")
    assert crossfile.correct(line, "    return b.Name  ")
    assert not crossfile.correct(line, "    return b.Name()")


def test_with_other_files_the_defining_modules_outline_comes_first():
    hole = next(h for h in crossfile.holes() if h.kind == "member" and h.project == "jinja2")
    extra = crossfile.extra_for(hole, Settings())
    assert extra is not None and extra.path == hole.path
    assert (extra.chunks[0].path, extra.chunks[0].kind) == (hole.module, "usage")
    assert f"nodes.{hole.target}" in extra.chunks[0].text


def test_with_the_workspace_only_the_defining_modules_outline_and_line_chunks_come_from_the_index():
    hole = next(h for h in crossfile.holes() if h.kind == "member" and h.project == "jinja2")
    index = crossfile.index_for(hole.project)
    try:
        extra = crossfile.extra_for(hole, Settings(), mode="workspace", index=index)
    finally:
        index.close()
    assert extra is not None
    assert (extra.chunks[0].path, extra.chunks[0].kind) == (hole.module, "usage")
    assert f"nodes.{hole.target}" in extra.chunks[0].text
    assert all(c.path != hole.path for c in extra.chunks)  # nothing open but the file
    # As when the other modules are open: their line chunks too, as Sources cuts them.
    opened = {(c.path, c.order, c.text) for c in crossfile.extra_for(hole, Settings()).chunks if c.kind == "lines"}
    assert {(c.path, c.order, c.text) for c in extra.chunks if c.kind == "lines"} & opened


def test_per_hole_results_name_the_completion_and_the_chunks_in_the_prompt():
    from codeshell_lsp.extra_context import Chunk

    hole = crossfile.Hole("p", "p/a.py", "member", "import b\n\nx = b.", "(1)\n", "Name", "p/b.py")
    outline_chunk = Chunk("p/b.py", "python", "b.Name()\n", ("p/b.py", -1), "usage")
    lines_chunk = Chunk("p/c.py", "python", "y = b.Name(2)\n", ("p/c.py", 40), "lines")
    score = crossfile.Score(holes=[])
    score.add(hole, "Name(1)", (outline_chunk, lines_chunk))
    score.add(hole, "Other", ())
    report = score.to_json()
    assert (report["tasks"], report["correct"]) == (2, 1)
    assert report["holes"][0] == {
        "file": "p/a.py", "line": 3, "expected": "Name", "got": "Name(1)", "correct": True,
        "chunks": ["p/b.py:0:usage", "p/c.py:41:lines"],
    }
    assert report["holes"][1]["correct"] is False and report["holes"][1]["chunks"] == []
    assert "holes" not in crossfile.Score().to_json()
