"""The documentation site works offline: every asset it loads comes from the site itself.

The site is read behind firewalls and under strict Content-Security-Policies, where any
script, stylesheet, font or image from another host fails to load. The build test below
makes the site with ``mkdocs build --strict`` and reads what every page would fetch; the
diagram tests check the committed SVG diagrams against their Mermaid sources.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
CONFIG = ROOT / "mkdocs.yml"

# <link rel=...> values that make a browser fetch (or connect to) the target.
FETCHING_RELS = frozenset(
    {
        "stylesheet",
        "preconnect",
        "dns-prefetch",
        "preload",
        "modulepreload",
        "prefetch",
        "icon",
        "shortcut",
        "apple-touch-icon",
        "mask-icon",
        "manifest",
    }
)
# Elements and the attributes through which they load something.
LOADING_ATTRIBUTES = {
    "script": ("src",),
    "img": ("src", "srcset"),
    "iframe": ("src",),
    "source": ("src", "srcset"),
    "video": ("src", "poster"),
    "audio": ("src",),
    "track": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "image": ("href", "xlink:href"),
    "use": ("href", "xlink:href"),
}
# url(...) and @import in CSS, quoted or not.
CSS_URL = re.compile(r"""url\(\s*(['"]?)(.*?)\1\s*\)""", re.IGNORECASE)
CSS_IMPORT = re.compile(r"""@import\s+(?:url\(\s*)?['"]?([^'")\s;]+)""", re.IGNORECASE)
# The hash a rendered diagram carries of the source it was made from.
SOURCE_HASH = re.compile(r"source sha256: ([0-9a-f]{64})")


def is_remote(url: str) -> bool:
    """True for a URL that names a host (``https://...``, ``//host/...``), not for a path."""
    url = url.strip()
    if url.lower().startswith("data:"):
        return False
    return bool(urlsplit(url).netloc)


def srcset_urls(value: str) -> list[str]:
    """The URLs of a ``srcset``: comma-separated candidates, each a URL and a descriptor."""
    return [part.split()[0] for part in value.split(",") if part.strip()]


def css_urls(css: str) -> list[str]:
    """Every URL a piece of CSS loads, through ``url(...)`` or ``@import``."""
    return [match[2] for match in CSS_URL.finditer(css)] + [
        match[1] for match in CSS_IMPORT.finditer(css)
    ]


class PageLoads(HTMLParser):
    """Reads one HTML page: what it would load, and what the theme would load for it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.loads: list[str] = []
        self.mermaid_blocks = 0
        self.repository_facts: list[str] = []
        self.images: list[tuple[str, str]] = []
        self._style: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "link" and FETCHING_RELS & set(values.get("rel", "").lower().split()):
            self.loads.append(values.get("href", ""))
        for name in LOADING_ATTRIBUTES.get(tag, ()):
            if name in values:
                is_srcset = name == "srcset"
                self.loads += srcset_urls(values[name]) if is_srcset else [values[name]]
        if "style" in values:
            self.loads += css_urls(values["style"])
        if tag == "style":
            self._in_style = True
        if tag == "img":
            self.images.append((values.get("src", ""), values.get("alt", "")))
        # mkdocs-material fetches mermaid.js from a CDN for every block of this class, and
        # the repository's stars and forks from the GitHub (or GitLab) API for this link.
        if "mermaid" in values.get("class", "").split():
            self.mermaid_blocks += 1
        if values.get("data-md-component") == "source" and is_remote(values.get("href", "")):
            self.repository_facts.append(values["href"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self._style.append(data)

    def close(self) -> None:
        super().close()
        self.loads += css_urls("".join(self._style))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built with ``mkdocs build --strict`` from this tree's config and sources."""
    reason = "building the documentation site needs the docs extra: pip install 'sse-client[docs]'"
    pytest.importorskip("mkdocs", reason=reason)
    pytest.importorskip("material", reason=reason)
    pytest.importorskip("mkdocstrings", reason=reason)
    if not CONFIG.exists():
        pytest.skip("no mkdocs.yml beside the tests")
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(CONFIG), "-d", str(out)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def pages(site: Path) -> Iterator[tuple[str, PageLoads]]:
    """Every HTML page of the site, by its path in the site, read."""
    for page in sorted(site.rglob("*.html")):
        loads = PageLoads()
        loads.feed(page.read_text(encoding="utf-8"))
        loads.close()
        yield page.relative_to(site).as_posix(), loads


def test_no_page_loads_a_script_stylesheet_font_image_or_frame_from_another_host(
    site: Path,
) -> None:
    """Offline and under a strict CSP, anything from another host is simply missing."""
    remote = {
        name: sorted(url for url in loads.loads if is_remote(url)) for name, loads in pages(site)
    }
    assert {name: urls for name, urls in remote.items() if urls} == {}


def test_no_page_makes_the_theme_fetch_from_another_host(site: Path) -> None:
    """The theme's own loaders: mermaid.js from a CDN, and the repository's facts."""
    found = {
        name: (loads.mermaid_blocks, loads.repository_facts)
        for name, loads in pages(site)
        if loads.mermaid_blocks or loads.repository_facts
    }
    assert found == {}


def test_the_shipped_css_and_svg_files_load_nothing_from_another_host(site: Path) -> None:
    """Stylesheets (fonts, images, imports) and SVG images (fonts, links) stay local too."""
    remote: dict[str, list[str]] = {}
    for path in sorted([*site.rglob("*.css"), *site.rglob("*.svg")]):
        text = path.read_text(encoding="utf-8")
        urls = css_urls(text)
        if path.suffix == ".svg":
            urls += re.findall(r"""(?:xlink:)?href\s*=\s*["']([^"']*)["']""", text)
        if found := sorted(url for url in urls if is_remote(url)):
            remote[path.relative_to(site).as_posix()] = found
    assert remote == {}


def test_the_lifecycle_diagram_is_an_image_with_alt_text(site: Path) -> None:
    """The page shows the committed SVG, and says in words what it shows."""
    loads = dict(pages(site))["guides/reconnection/index.html"]
    alts = [alt for src, alt in loads.images if src.endswith("lifecycle.svg")]
    assert len(alts) == 1
    assert len(alts[0].split()) >= 5, alts[0]
    assert (site / "guides" / "lifecycle.svg").is_file()


def diagram_sources() -> list[Path]:
    return sorted(DOCS.rglob("*.mmd"))


def source_digest(source: Path) -> str:
    """The sha256 of a diagram's source, line endings normalised (a checkout may add CRs)."""
    text = source.read_text(encoding="utf-8").replace("\r\n", "\n")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_the_docs_have_diagram_sources() -> None:
    """The check below has something to check (the lifecycle, at least)."""
    if not DOCS.exists():
        pytest.skip("no docs/ beside the tests")
    assert DOCS / "guides" / "lifecycle.mmd" in diagram_sources()


@pytest.mark.parametrize(
    "source", diagram_sources(), ids=lambda path: path.relative_to(DOCS).as_posix()
)
def test_each_diagram_was_rendered_from_its_current_source(source: Path) -> None:
    """A changed .mmd needs its .svg rendered again: docs/_tools/render_diagram.py."""
    svg = source.with_suffix(".svg")
    assert svg.is_file(), f"{svg.name} is missing: run docs/_tools/render_diagram.py"
    found = SOURCE_HASH.findall(svg.read_text(encoding="utf-8"))
    assert found == [source_digest(source)], (
        f"{svg.name} was not rendered from the current {source.name}: "
        "run docs/_tools/render_diagram.py"
    )
