"""Every rule the code and the tests cite (``spec: TAG``) is defined in docs/spec-rules.md."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import sse_client

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "docs" / "spec-rules.md"
# The package that is imported: the source tree, or an installed copy when an unpacked
# sdist runs its tests against an install.
PACKAGE = Path(sse_client.__file__).resolve().parent

TAG = r"[A-Z]+(?:-[A-Z0-9]+)+"
# "spec: C-200", and lists: "spec: C-DELAY, F-RETRY".
CITATION = re.compile(rf"spec: ({TAG}(?:,\s*{TAG})*)")
DEFINITION = re.compile(rf"^\*\*({TAG})\*\*$", re.MULTILINE)


def cited_tags() -> dict[str, list[str]]:
    """Each tag cited in sse_client/ and tests/, with the files that cite it."""
    cited: dict[str, list[str]] = {}
    for folder in (PACKAGE, ROOT / "tests"):
        for path in sorted(folder.rglob("*.py")):
            for match in CITATION.finditer(path.read_text(encoding="utf-8")):
                for tag in re.split(r",\s*", match[1]):
                    cited.setdefault(tag, []).append(f"{folder.name}/{path.relative_to(folder)}")
    return cited


def defined_tags() -> list[str]:
    """The tags docs/spec-rules.md defines, in order."""
    return DEFINITION.findall(RULES.read_text(encoding="utf-8"))


def test_every_cited_rule_is_defined() -> None:
    """A `spec: TAG` comment or docstring names a rule the document states."""
    cited = cited_tags()
    assert len(cited) >= 20  # the citations were found at all
    missing = {tag: files for tag, files in cited.items() if tag not in defined_tags()}
    assert missing == {}


def test_each_rule_is_defined_once() -> None:
    """No tag is stated twice, so a citation has exactly one meaning."""
    defined = defined_tags()
    assert [tag for tag, count in Counter(defined).items() if count > 1] == []
    assert len(defined) >= 20


def test_citations_in_lists_are_all_checked() -> None:
    """The pattern reads each tag of a comma-separated citation."""
    found = [m[1] for m in CITATION.finditer("# spec: C-DELAY, F-RETRY -- and spec: P-CR-SPLIT")]
    assert found == ["C-DELAY, F-RETRY", "P-CR-SPLIT"]
