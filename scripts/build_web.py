"""Copy the web page's third-party files from node_modules into the package, with licences.

Usage (from the repository root, after ``npm ci``):

    .venv/bin/python scripts/build_web.py          # copy
    .venv/bin/python scripts/build_web.py --check  # exit 1 if a committed copy is stale

The copies under ``src/hotzone/web/static/vendor/`` are committed (about 2 MB), so that
``pip install`` of hotzone serves the page offline without npm; package-lock.json pins the
versions, and this script is how they are refreshed after an upgrade. The borders come
from ``src/hotzone/geo/data/borders-europe.json`` (scripts/make_borders.py, Natural Earth
via world-atlas), served by the API at ``/api/borders``.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = REPO_ROOT / "node_modules"
VENDOR = REPO_ROOT / "src" / "hotzone" / "web" / "static" / "vendor"

#: (source under node_modules, name under vendor/)
FILES = (
    ("maplibre-gl/dist/maplibre-gl.js", "maplibre-gl.js"),
    ("maplibre-gl/dist/maplibre-gl.css", "maplibre-gl.css"),
    ("maplibre-gl/LICENSE.txt", "LICENSE.maplibre-gl.txt"),
    ("milsymbol/dist/milsymbol.js", "milsymbol.js"),
    ("milsymbol/LICENSE", "LICENSE.milsymbol.txt"),
    ("mgrs/dist/mgrs.js", "mgrs.js"),
    ("mgrs/license.md", "LICENSE.mgrs.md"),
)


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    VENDOR.mkdir(parents=True, exist_ok=True)
    for source_name, target_name in FILES:
        source = NODE_MODULES / source_name
        if not source.is_file():
            print(f"missing {source}: run `npm ci` first", file=sys.stderr)
            return 2
        target = VENDOR / target_name
        data = source.read_bytes()
        if target.is_file() and target.read_bytes() == data:
            continue
        if check:
            stale.append(target_name)
            continue
        target.write_bytes(data)
        print(f"copied {source_name} -> {target.relative_to(REPO_ROOT)}")
    if stale:
        print(f"stale vendored files: {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
