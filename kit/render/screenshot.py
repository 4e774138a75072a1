"""A screenshot of the decision page in headless Debian chromium (what the README shows).

``python -m kit.render.screenshot results/report.html docs/decision-page.png`` (``make
screenshot``); the browser is ``$CHROMIUM`` or /usr/bin/chromium (``make browser``).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
"""Headless as root on a closed network: no sandbox, no GPU, no calls home."""


def chromium() -> str:
    """The system browser's path; a one-line error when it is missing."""
    path = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not Path(path).is_file():
        raise SystemExit(f"error: no chromium at {path}: run `make browser` or set CHROMIUM")
    return path


def screenshot(page: Path, out: Path, width: int = 1200, height: int = 1150) -> Path:
    """The page's first screen (answer, controls, the selected point) as PNG."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as profile, sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile,
            executable_path=chromium(),
            args=FLAGS,
            headless=True,
            viewport={"width": width, "height": height},
        )
        tab = context.new_page()
        tab.goto(page.resolve().as_uri())
        out.parent.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(out))
        context.close()
    return out


def main(argv: list[str] | None = None) -> int:
    """``PAGE PNG``: write the screenshot."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if args and args[0] in ("-h", "--help") else 2
    page = Path(args[0])
    if not page.is_file():
        print(f"error: {page} does not exist: run `make demo` first", file=sys.stderr)
        return 2
    print(f"wrote {screenshot(page, Path(args[1]))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
