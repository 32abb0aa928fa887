"""Docs that stay true: every relative link in README.md, docs/*.md and the packages' READMEs
points at a file or folder that exists in the repository.

External links (a scheme such as https: or mailto:) and in-page anchors are not checked; the
`#fragment` of a file link is ignored. Links inside fenced code blocks and inline code are not
links. A document outside the repository (the handbook's FACTS.md, for instance) is named in
prose, not linked, so a reader never follows a link that leads nowhere.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# [text](target "title") and [label]: target
_INLINE = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?(?P<target>[^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(?P<target>\S+?)>?(?:\s+.*)?$", re.M)
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_FENCE = re.compile(r"^\s{0,3}(```|~~~).*?^\s{0,3}\1[^\n]*$", re.M | re.S)
_INLINE_CODE = re.compile(r"`[^`\n]*`")


def documents() -> list[Path]:
    found = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    found += sorted(ROOT.glob("services/*/README.md"))
    found += [p for p in (ROOT / "gateway" / "README.md", ROOT / "shared" / "README.md") if p.exists()]
    return [p for p in found if p.is_file()]


def links(markdown: str) -> list[str]:
    """The link targets of a Markdown text, code excluded."""
    text = _INLINE_CODE.sub("", _FENCE.sub("", markdown))
    return [m.group("target") for m in (*_INLINE.finditer(text), *_REFERENCE.finditer(text))]


def broken_links(document: Path) -> list[str]:
    broken = []
    for target in links(document.read_text()):
        if _SCHEME.match(target) or target.startswith("#"):
            continue
        path = target.split("#", 1)[0].split("?", 1)[0]
        resolved = (ROOT / path.lstrip("/")) if path.startswith("/") else (document.parent / path)
        if not resolved.exists():
            broken.append(target)
    return broken


@pytest.mark.parametrize("document", documents(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_points_at_a_file_in_the_repository(document: Path) -> None:
    assert not broken_links(document), f"{document.relative_to(ROOT)} links to missing files: {broken_links(document)}"


def test_the_documents_checked_include_the_readme_and_docs() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in documents()}
    assert "README.md" in names and "docs/architecture.md" in names


def test_link_reader_finds_relative_links_and_skips_code_external_and_anchors(tmp_path: Path) -> None:
    doc = tmp_path / "docs" / "page.md"
    doc.parent.mkdir()
    (tmp_path / "docs" / "there.md").write_text("x")
    doc.write_text(
        "See [there](there.md#part), [gone](gone.md), [web](https://example.org/x.md),\n"
        '[anchor](#top), ![img](img/missing.png "title") and `[code](nowhere.md)`.\n'
        "```\n[fenced](fenced.md)\n```\n"
        "[ref]: ../FACTS.md\n"
    )
    assert links(doc.read_text()) == [
        "there.md#part",
        "gone.md",
        "https://example.org/x.md",
        "#top",
        "img/missing.png",
        "../FACTS.md",
    ]
    assert broken_links(doc) == ["gone.md", "img/missing.png", "../FACTS.md"]
