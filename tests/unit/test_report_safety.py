"""The report is safe to share: values from a results file or a model's model.json are text,
never markup, and only the report's own images are embedded."""

from __future__ import annotations

import base64
from html.parser import HTMLParser

from kit.decide.report import write_report
from tests.helpers.results import hostile_doc

PAYLOADS = {
    "script": "<script>window.owned=1</script>",
    "handler": '<img src=x onerror="window.owned=1">',
    "link": "[click](javascript:window.owned=1)",
    "image": "![secret](secret.png) ![up](../outside.png)",
    "structure": "a | b |\n# Heading from a value\n- bullet",
}


class Tags(HTMLParser):
    """Every start tag with its attributes, as a browser's parser sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_hostile_values_stay_text_and_no_outside_file_is_embedded(tmp_path):
    out = tmp_path / "report"
    out.mkdir()
    (out / "secret.png").write_bytes(b"\x89PNG secret in the folder")
    (tmp_path / "outside.png").write_bytes(b"\x89PNG secret outside")
    hostile = hostile_doc(
        labels=[PAYLOADS["script"], PAYLOADS["handler"]],
        source=PAYLOADS["link"],
        run={"note": PAYLOADS["image"], "shape": PAYLOADS["structure"]},
        host=PAYLOADS["handler"],
    )
    md, html = write_report(
        hostile, out, search={"levels": (1.0, 3.0), "extend": False, "ci_reps": 2}
    )
    page = html.read_text()
    parser = Tags()
    parser.feed(page)
    names = [t for t, _ in parser.tags]
    scripts = [attrs for t, attrs in parser.tags if t == "script"]
    # the page's data block and its own script (allowed by hash), nothing from a value
    assert scripts == [{"type": "application/json", "id": "page-data"}, {}]
    assert "a" not in names
    assert all(not k.startswith("on") for _, attrs in parser.tags for k in attrs)
    images = [attrs.get("src") or "" for t, attrs in parser.tags if t == "img"]
    embedded = [s for s in images if s.startswith("data:image/png;base64,")]
    # the report's own plots in the details (the frontier is drawn by the page itself)
    assert len(embedded) == 5 and all(s in ("",) or s.startswith("data:") for s in images)
    for secret in (out / "secret.png", tmp_path / "outside.png"):  # neither file is in the page
        assert base64.b64encode(secret.read_bytes()).decode() not in page
    assert names.count("h1") == 1  # the report's title; "# Heading from a value" is text
    assert "Heading from a value" in page and "window.owned" in page  # shown, as text
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert "script-src 'sha256-" in page and "unsafe-inline' ;" not in page
    text = md.read_text()
    assert "\n# Heading from a value" not in text and "\n- bullet" not in text
