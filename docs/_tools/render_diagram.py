"""Render the documentation's Mermaid diagrams to the SVG files beside their sources.

The site shows each diagram as a committed SVG image, so that it needs no script from
another host (the theme would load mermaid.js from a CDN). Each ``docs/**/*.mmd`` is
rendered to the ``.svg`` of the same name; the SVG starts with a comment that carries the
sha256 of its source, and ``tests/test_docs_site.py`` fails when the two disagree.

Run it from anywhere, after changing a ``.mmd`` file::

    python docs/_tools/render_diagram.py                  # every diagram under docs/
    python docs/_tools/render_diagram.py docs/guides/lifecycle.mmd

It needs npm (to fetch the pinned ``mermaid`` package, into a temporary directory) and a
Chromium or Chrome (``apt-get install chromium``; ``--chromium PATH`` or ``$CHROMIUM``
names another one). ``--mermaid PATH`` uses a ``mermaid.min.js`` you already have instead
of npm. Labels are SVG text measured in Verdana or DejaVu Sans, wide fonts, so that they
fit their boxes in the narrower fonts a reader may have instead.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import shutil
import string
import subprocess
import sys
import tarfile
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent
MERMAID_VERSION = "11.17.2"
MERMAID_CONFIG = {
    "startOnLoad": False,
    "theme": "default",
    "deterministicIds": True,
    # Plain SVG text, not HTML in a foreignObject: an <img> shows it alike everywhere.
    "htmlLabels": False,
    "flowchart": {"htmlLabels": False},
    # Explicit width and height: the page scales the image down to its column.
    "state": {"useMaxWidth": False},
    "fontFamily": 'Verdana, "DejaVu Sans", "Bitstream Vera Sans", sans-serif',
    # Opaque label backgrounds: a line that passes behind a label does not cross its text.
    "themeCSS": ".edgeLabel rect { opacity: 1 !important; fill: #f2f2f2 !important; }",
}
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
# The namespaces an SVG names are identifiers, not fetched: every other URL is refused.
NAMESPACES = ("http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink")

PAGE = string.Template("""<!doctype html>
<meta charset="utf-8">
<script src="mermaid.min.js"></script>
<pre id="result">pending</pre>
<script>
const result = document.getElementById("result");
const utf8 = (text) =>
  Array.from(new TextEncoder().encode(text), (byte) => String.fromCharCode(byte)).join("");
mermaid.initialize($config);
mermaid.render($id, $source).then(
  ({svg}) => { result.textContent = "svg " + btoa(utf8(svg)); },
  (error) => { result.textContent = "error " + btoa(utf8(String(error))); },
);
</script>
""")


def source_digest(text: str) -> str:
    """The sha256 of a diagram's source, line endings normalised (a checkout may add CRs)."""
    return hashlib.sha256(text.replace("\r\n", "\n").encode("utf-8")).hexdigest()


def script_literal(value: object) -> str:
    """A JavaScript literal of a value, safe inside a <script> element."""
    return json.dumps(value).replace("</", "<\\/")


def find_chromium(given: str | None) -> str:
    for name in (given, os.environ.get("CHROMIUM"), *BROWSERS):
        if name and (found := shutil.which(name)):
            return found
    sys.exit("no Chromium or Chrome found: install one, or name it with --chromium PATH")


def fetch_mermaid(workdir: Path) -> Path:
    """mermaid.min.js of the pinned release, from the package npm fetches (no install)."""
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("npm is needed to fetch mermaid; or give --mermaid PATH/TO/mermaid.min.js")
    packed = subprocess.run(
        [npm, "pack", "--silent", f"mermaid@{MERMAID_VERSION}"],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=True,
    )
    tarball = workdir / packed.stdout.strip().splitlines()[-1]
    with tarfile.open(tarball) as archive:
        member = archive.extractfile("package/dist/mermaid.min.js")
        if member is None:
            sys.exit(f"{tarball.name} holds no dist/mermaid.min.js")
        script = workdir / "mermaid.min.js"
        script.write_bytes(member.read())
    return script


def render(source: Path, chromium: str, workdir: Path) -> str:
    """The SVG Mermaid draws for one source, in a headless browser that reaches no network."""
    text = source.read_text(encoding="utf-8")
    page = PAGE.substitute(
        config=script_literal(MERMAID_CONFIG),
        id=script_literal(re.sub(r"[^A-Za-z0-9_-]", "-", source.stem)),
        source=script_literal(text),
    )
    (workdir / "render.html").write_text(page, encoding="utf-8")
    with tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                f"--user-data-dir={profile}",
                "--virtual-time-budget=30000",
                "--dump-dom",
                (workdir / "render.html").as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout
    found = re.search(r'<pre id="result">(svg|error) ([A-Za-z0-9+/=]*)</pre>', dom)
    if found is None:
        sys.exit(f"{source}: the browser drew nothing (is mermaid.min.js whole?)")
    body = base64.b64decode(found[2]).decode("utf-8")
    if found[1] == "error":
        sys.exit(f"{source}: mermaid refused it: {body}")
    return finish(body, source, text)


def finish(svg: str, source: Path, text: str) -> str:
    """The SVG as committed: a white background, the source's hash, checked to be local."""
    root = re.match(r"<svg\b[^>]*>", svg)
    if root is None:
        sys.exit(f"{source}: mermaid drew no <svg> element")
    if ' style="' in root[0]:
        svg = svg.replace(' style="', ' style="background-color: white; ', 1)
    else:
        svg = svg.replace("<svg", '<svg style="background-color: white"', 1)
    remote = [url for url in re.findall(r"""https?://[^\s"'()<>]+""", svg) if url not in NAMESPACES]
    if remote or "@import" in svg:
        sys.exit(f"{source}: the SVG names another host: {remote or '@import'}")
    ET.fromstring(svg)  # well-formed XML, or an <img> shows nothing
    tool = Path(__file__).resolve().relative_to(DOCS.parent).as_posix()
    comment = (
        f"<!-- Rendered from {source.name} by {tool} with mermaid {MERMAID_VERSION}: "
        f"do not edit. source sha256: {source_digest(text)} -->"
    )
    return f"{comment}\n{svg}\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sources", nargs="*", type=Path, help="default: docs/**/*.mmd")
    parser.add_argument("--chromium", help="the browser to draw with")
    parser.add_argument("--mermaid", type=Path, help="a mermaid.min.js to use instead of npm's")
    args = parser.parse_args(argv)
    sources = [path.resolve() for path in args.sources] or sorted(DOCS.rglob("*.mmd"))
    chromium = find_chromium(args.chromium)
    with tempfile.TemporaryDirectory() as work:
        workdir = Path(work)
        if args.mermaid:
            shutil.copyfile(args.mermaid, workdir / "mermaid.min.js")
        else:
            fetch_mermaid(workdir)
        for source in sources:
            target = source.with_suffix(".svg")
            target.write_text(render(source, chromium, workdir), encoding="utf-8")
            print(f"rendered {target}")


if __name__ == "__main__":
    main()
