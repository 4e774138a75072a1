"""report.html: the decision page, one self-contained file a CTO can explore and share.

Answer first; controls for traffic level, shape and p99 target that switch among results
searched in advance (``kit.decide.recommend.grid``); the selected point's options, cost
breakdown and ``pulumi config set`` commands with a copy button; the frontier plot; the
report's details below, collapsed.

Safe by construction:
- the data is one JSON block (``<``, ``>``, ``&`` and line separators escaped, so no value
  can end it), read by the page's own script (``page.js``), which writes every value with
  ``textContent``: nothing from a results file, model, trace or stack file is parsed as HTML;
- the details are the Markdown report (values already escaped as text) sanitised by nh3
  to a fixed set of tags, with only the report's own images embedded, by exact name;
- a Content-Security-Policy that allows the page's one script by its SHA-256 and nothing
  from anywhere else (no network, no CDN).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from pathlib import Path
from typing import Any

REPORT_IMAGES = (
    "latency_timeline.png",
    "latency_boxplot.png",
    "simulation.png",
    "cost.png",
    "cost_log.png",
    "frontier.png",
)
"""The only images a report embeds: its own, by exact name, from its own folder."""
ALLOWED_TAGS = {
    "h1", "h2", "h3", "p", "ul", "ol", "li", "strong", "em", "code", "pre", "table", "thead",
    "tbody", "tr", "th", "td", "img", "br", "hr", "blockquote",
}  # fmt: skip
SCRIPT = (Path(__file__).parent / "page.js").read_text()

CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:1.5em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.5em;margin-bottom:.2em}.sub{color:#666;margin-top:0}
.answer{background:#eef5ff;border-left:5px solid #1f77b4;padding:.8em 1.2em;font-size:1.08em}
.controls{display:flex;flex-wrap:wrap;gap:1em 2em;align-items:end;margin:1em 0;padding:.8em;background:#f7f7f7;border-radius:6px}
.controls label{display:flex;flex-direction:column;font-size:.85em;color:#444;gap:.2em}
#level{width:320px}#level-out{font-weight:600;font-size:.95em;flex-basis:100%}#traffic-note{color:#a40;font-size:.85em}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}tr.pick td{background:#fff6d5;font-weight:600}
td.why{color:#777}pre{background:#f3f3f3;padding:.6em;overflow-x:auto}code{background:#f3f3f3;padding:0 .2em}
.cols{display:flex;flex-wrap:wrap;gap:2em}.cols>div{flex:1 1 380px}
svg{width:100%;height:auto;background:#fff;border:1px solid #ddd}svg text{font:12px system-ui,sans-serif;fill:#333}
svg .small{font-size:10px}svg .axis{stroke:#333}svg .grid{stroke:#eee}svg .crossover{stroke:#888;stroke-dasharray:4 3}
svg .you{stroke:#000;stroke-width:1.5}svg .selected{stroke:#1f77b4;stroke-width:6;opacity:.15}svg .nothing{fill:#c00;opacity:.07}
details{margin:.5em 0;border:1px solid #ddd;border-radius:4px;padding:.3em .8em}summary{cursor:pointer;font-weight:600}
img{max-width:100%}
"""


def csp(script: str = SCRIPT) -> str:
    """No request to anywhere; the page's own script (by hash) and inline styles only."""
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    return (
        f"default-src 'none'; script-src 'sha256-{digest}'; img-src data:; "
        "style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
    )


def json_for_script(data: Any) -> str:
    """JSON that cannot end the ``<script type="application/json">`` block holding it."""
    text = json.dumps(data, allow_nan=False, separators=(",", ":"))
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(raw, escaped)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def rich_html(text: str) -> str:
    """A sentence with **bold** as HTML: everything escaped, the bold markers kept."""
    return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html.escape(text))


def safe_html(fragment: str) -> str:
    """Rendered Markdown with nothing but the report's own tags (nh3, the ammonia
    sanitizer): no script, no event handler, no link, no style from any value."""
    import nh3

    return nh3.clean(
        fragment,
        tags=ALLOWED_TAGS,
        attributes={"img": {"src", "alt"}, "th": {"align"}, "td": {"align"}},
        url_schemes=set(),
        strip_comments=True,
    )


def embed_images(fragment: str, folder: Path) -> str:
    """Inline the report's own images; any other ``src`` a value named is emptied."""

    def repl(match: re.Match) -> str:
        src = match.group(1)
        path = folder / src
        if src not in REPORT_IMAGES or not path.is_file():
            return 'src=""'  # anything else a value named stays outside the page
        data = base64.b64encode(path.read_bytes()).decode()
        return f'src="data:image/png;base64,{data}"'

    return re.sub(r'src="([^"]*)"', repl, fragment)


def markdown_html(text: str, folder: Path) -> str:
    """A Markdown section of the report as safe HTML with its images inlined."""
    import markdown

    return embed_images(safe_html(markdown.markdown(text, extensions=["tables"])), folder)


def head(title: str, script: bool) -> str:
    """``<head>``: charset, the CSP, the title and the styles."""
    policy = csp() if script else re.sub(r"script-src [^;]*;", "script-src 'none';", csp())
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">'
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head>"
    )


def details_html(sections: list[tuple[str, str]], folder: Path) -> str:
    """Each (heading, Markdown) as a collapsed ``<details>``."""
    return "".join(
        f"<details><summary>{html.escape(heading)}</summary>{markdown_html(text, folder)}</details>"
        for heading, text in sections
    )


def decision_page(
    title: str,
    subtitle: str,
    answer: str,
    data: dict[str, Any],
    sections: list[tuple[str, str]],
    folder: Path,
) -> str:
    """The whole page: answer, controls, the selected point, the plot, then the details."""
    from .recommend import FAMILY_COLORS

    data = data | {"colors": FAMILY_COLORS}
    e = html.escape
    return (
        head(title, script=True) + "<body>"
        f"<h1>{e(title)}</h1><p class='sub'>{e(subtitle)}</p>"
        f"<section class='answer' aria-live='polite'><p id='answer-text'>{rich_html(answer)}</p></section>"
        "<form id='traffic-form' class='controls'>"
        "<label>Traffic level searched<input type='range' id='level' min='0' max='0' step='1'></label>"
        "<label>or type your traffic<span><input type='number' id='traffic-input' min='0' step='any' "
        "size='10'> <select id='unit'></select> <button type='submit'>Go</button>"
        "</span></label>"
        "<label>Traffic shape<select id='shape'></select></label>"
        "<label>Latency target<select id='target'></select></label>"
        "<span id='level-out'></span><span id='traffic-note'></span></form>"
        "<div class='cols'><div><h2>Every option at this traffic</h2>"
        "<table><thead><tr><th>option</th><th>cheapest configuration meeting the target</th>"
        "<th>USD a month</th><th>90 % interval</th><th>p99</th><th>cold starts</th></tr></thead>"
        "<tbody id='options-body'></tbody></table></div>"
        "<div><h2>Deploy it</h2><p id='pick-title'></p>"
        "<table><thead><tr><th>cost part</th><th>USD a month</th></tr></thead>"
        "<tbody id='breakdown-body'></tbody></table>"
        "<pre id='commands'></pre><button type='button' id='copy'>Copy</button> "
        "<span id='preflight'></span></div></div>"
        "<h2>Cost per option by traffic</h2>"
        "<svg id='frontier' viewBox='0 0 900 420' role='img' "
        "aria-label='cheapest monthly cost per option against traffic'></svg>"
        "<p class='sub'>Each line: the cheapest configuration of that option meeting the target, "
        "at each traffic level searched (a multiple of yours). Dashed: where the cheapest "
        "option changes; black: your traffic; shaded: nothing meets the target.</p>"
        "<h2>Details</h2>" + details_html(sections, folder) + "<script type='application/json' "
        f"id='page-data'>{json_for_script(data)}</script><script>{SCRIPT}</script></body></html>"
    )


def plain_page(title: str, sections: list[tuple[str, str]], folder: Path) -> str:
    """A page without controls (nothing to decide from): the sections, open."""
    body = "".join(
        f"<h2>{html.escape(h)}</h2>{markdown_html(text, folder)}" for h, text in sections
    )
    return head(title, script=False) + f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
