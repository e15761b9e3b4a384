"""The report: renders from workflow outputs, embeds every figure and the claims
table, has no broken image or link, and opens in a headless browser."""

import base64
import copy
import os
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from conftest import TINY, copy_project, snakemake

from backprop86 import figures as F
from backprop86.claims import COLUMNS, report_settings
from backprop86.report import render

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class Links(HTMLParser):
    """Collects ids, image sources, hrefs and table rows of an HTML page."""

    def __init__(self):
        super().__init__()
        self.ids, self.imgs, self.hrefs, self.rows = set(), [], [], 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "img":
            self.imgs.append(a.get("src", ""))
        if tag == "a":
            self.hrefs.append(a.get("href", ""))
        if tag == "tr" and a.get("id", "").startswith("claim-"):
            self.rows += 1


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """A report from small figures and two claims tables, as the workflow builds it."""
    out = tmp_path_factory.mktemp("report")
    figs = {}
    for name in ("fig2", "fig5"):
        F.save(*F.fig2(), out / f"{name}.png")
        figs[name] = out / f"{name}.png"
    claims = []
    for k, verdict in enumerate(["reproduced", "not reproduced"]):
        rows = [{c: f"{c} {k}" for c in COLUMNS} | {"id": f"claim_{k}", "verdict": verdict}]
        pd.DataFrame(rows).to_csv(out / f"claims{k}.csv", index=False)
        claims.append(out / f"claims{k}.csv")
    config = copy.deepcopy(TINY)
    html = render(claims, figs, config, report_settings(config), "abc123", ["backprop86-symmetry"])
    (out / "report.html").write_text(html)
    return out / "report.html", html


def test_report_has_every_figure_claim_and_no_broken_link(rendered):
    _, html = rendered
    page = Links()
    page.feed(html)
    assert page.rows == 2  # both claims tables, one row each
    assert {"fig2", "fig5", "claims", "provenance"} <= page.ids
    assert len(page.imgs) == 2
    for src in page.imgs:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]).startswith(b"\x89PNG")
    for href in page.hrefs:
        assert href.startswith("https://") or (href.startswith("#") and href[1:] in page.ids), href
    assert "abc123" in html and "backprop86-symmetry" in html
    assert "The published family-tree recipe does not reproduce" not in html  # no such claim row here


def test_report_rejects_bad_inputs(tmp_path, rendered):
    bad = tmp_path / "claims.csv"
    pd.DataFrame([{"id": "x", "claim": "y"}]).to_csv(bad, index=False)
    config = copy.deepcopy(TINY)
    with pytest.raises(ValueError, match="lacks the column"):
        render([bad], {}, config, report_settings(config), "c", [])
    with pytest.raises(ValueError, match="unknown figure"):
        render([], {"fig9": bad}, config, report_settings(config), "c", [])
    with pytest.raises(ValueError, match="is not a PNG"):
        render([], {"fig1": bad}, config, report_settings(config), "c", [])


def test_report_opens_in_headless_chromium(rendered):
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; CI must install it (apt-get install -y chromium)")
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    path, _ = rendered
    with tempfile.TemporaryDirectory() as profile:
        r = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--dump-dom", path.as_uri()],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    page = Links()
    page.feed(r.stdout)  # the DOM the browser built: every figure and claim row is there
    assert page.rows == 2 and len(page.imgs) == 2
    assert "Uncaught" not in r.stderr


@pytest.mark.slow
def test_workflow_ends_with_the_report_and_snakemake_report(tmp_path):
    project = copy_project(tmp_path / "tiny", TINY)
    r = snakemake(project, "--cores", "2")
    assert r.returncode == 0, r.stderr[-3000:]
    html = (project / "reports" / "backprop86.html").read_text()
    page = Links()
    page.feed(html)
    assert {"fig1", "fig2", "fig3", "fig4", "learning_curves"} <= page.ids
    claims = pd.read_csv(project / "results" / "tables" / "claims.csv")
    assert page.rows == len(claims)
    assert "The published family-tree recipe does not reproduce" in html  # 30 sweeps learn nothing
    r = snakemake(project, "--report", "report.html")
    assert r.returncode == 0, r.stderr[-3000:]
    assert Path(project / "report.html").stat().st_size > 10_000
