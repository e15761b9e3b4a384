"""The report: renders from workflow outputs, embeds every figure at the size it
is drawn (a click opens the full-resolution version) with a provenance line
under it, groups the claims by claim, reads well in a headless browser at
1366x768, and Snakemake's own report holds every figure and table."""

import base64
import copy
import html
import json
import os
import re
import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT, TINY, copy_project, snakemake

from backprop86.claims import COLUMNS, GROUPING, VERDICTS, report_settings, tally
from backprop86.config import load, setting_defaults
from backprop86.experiments import train_seeds
from backprop86.figures.fig1 import fig1
from backprop86.figures.fig2 import fig2
from backprop86.figures.fig3 import fig3
from backprop86.figures.fig4 import fig4
from backprop86.figures.fig5 import fig5
from backprop86.figures.learning_curves import learning_curves
from backprop86.figures.readings_map import readings_map_figure
from backprop86.figures.style import save
from backprop86.readings_map import cells, printed_cell
from backprop86.report import FIGURES, build, render

CONFIG = load(Path(__file__).resolve().parents[1] / "config" / "config.yaml")
TINY_FIGURES = [f for f in FIGURES if f != "readings_map"]  # the tiny config has no readings map

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Screenshots the browser tests leave behind for a reader to look at.
ARTIFACTS = Path(os.environ.get("BACKPROP86_TEST_ARTIFACTS", ROOT / "test-artifacts"))
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]
# Run in the page once it has loaded: what the browser drew, written into the DOM for --dump-dom.
MEASURE = """<script>window.addEventListener("load", () => {
  const box = el => el.getBoundingClientRect();
  const out = document.createElement("pre");
  out.id = "measured";
  out.textContent = JSON.stringify({
    viewport: [window.innerWidth, window.innerHeight], height: document.documentElement.scrollHeight,
    figures: [...document.querySelectorAll("img.figure")].map(img => ({
      alt: img.alt, shown: img.clientWidth, natural: img.naturalWidth, loaded: img.complete && img.naturalWidth > 0})),
    cards: [...document.querySelectorAll(".scorecard .card")].map(c => ({name: c.textContent.trim(),
      bottom: box(c).bottom, right: box(c).right, chip: box(c.querySelector(".chip")).width})),
    full: [...document.querySelectorAll(".full")].map(d => ({id: d.id, shown: box(d).width,
      img: d.querySelector("img").clientWidth, drawn: d.querySelector("img").naturalWidth})),
  });
  document.body.appendChild(out);
});</script>"""

# Run in Snakemake's report once it has loaded: open each category from the
# results menu, as a reader clicks it, and write down what the app then shows.
CATEGORIES = """<script>window.addEventListener("load", async () => {
  const names = %s, shown = {};
  const sleep = ms => new Promise(done => setTimeout(done, ms));
  const link = text => [...document.querySelectorAll("#app a")].find(a => a.textContent.trim() === text);
  await sleep(1000);
  for (const name of names) {
    const home = link("Results");
    if (home) { home.click(); await sleep(300); }
    const a = link(name);
    if (a) { try { a.click(); } catch (e) {} await sleep(500); }
    shown[name] = a ? document.querySelector("#app").innerText : null;
  }
  const out = document.createElement("pre");
  out.id = "measured";
  out.textContent = JSON.stringify(shown);
  document.body.appendChild(out);
});</script>"""


class Links(HTMLParser):
    """Collects ids, image sources, hrefs, claim rows and provenance lines of an HTML page."""

    def __init__(self):
        super().__init__()
        self.ids, self.imgs, self.hrefs, self.rows, self.groups = set(), [], [], 0, 0
        self.provenance, self._in_prov = [], False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "img":
            self.imgs.append((a.get("class", ""), a.get("src", "")))
        if tag == "a":
            self.hrefs.append(a.get("href", ""))
        if tag == "tr" and a.get("id", "").startswith("claim-"):
            self.rows += 1
        if tag == "tbody" and a.get("class") == "claim":
            self.groups += 1
        if tag == "p" and a.get("class") == "provenance":
            self._in_prov = True
            self.provenance.append("")

    def handle_endtag(self, tag):
        if tag == "p":
            self._in_prov = False

    def handle_data(self, data):
        if self._in_prov:
            self.provenance[-1] += data


SYM = {
    **setting_defaults("symmetry"),
    "task": "symmetry",
    "hidden": 2,
    "init_range": 0.3,
    "schedule": [{"start_sweep": 1, "epsilon": 0.1, "alpha": 0.9}],
    "weight_decay": 0.0,
    "margin": 0.0,
    "margin_error": "from_target",
    "max_sweeps": 2000,
    "stop_at": "within_0_2",
    "criteria": {"rounded": 0.5, "within_0_2": 0.2},
}
FT = {
    **setting_defaults("family_trees"),
    "task": "family_trees",
    "init_range": 1.0,
    "schedule": [{"start_sweep": 1, "epsilon": 0.005, "alpha": 0.5}],
    "weight_decay": 0.0,
    "margin": 0.2,
    "margin_error": "from_edge",
    "max_sweeps": 40,
    "stop_at": None,
    "criteria": {"rounded": 0.5},
    "held_out": None,
    "n_held_out": 4,
}
SHIFT = {
    **setting_defaults("shift_register"),
    "task": "shift_register",
    "units": 3,
    "steps": 3,
    "init_range": 0.3,
    "weight_decay": 0.0,
    "margin": 0.0,
    "margin_error": "from_target",
    "schedule": [{"start_sweep": 1, "epsilon": 0.1, "alpha": 0.9}],
    "max_sweeps": 300,
    "stop_at": "tight",
    "criteria": {"rounded": 0.5, "tight": 0.2},
}


@pytest.fixture(scope="module")
def figure_files(tmp_path_factory):
    """Every figure of the report drawn from small trained runs, as the workflow draws them."""
    out = tmp_path_factory.mktemp("figures")
    sym, ft, shift = train_seeds(SYM, range(6)), train_seeds(FT, range(2)), train_seeds(SHIFT, range(3))
    save(*fig1(sym, "within_0_2", "median_sweeps", (1, 2, 4)), out / "fig1.png")
    save(*fig2(), out / "fig2.png")
    save(*fig3(ft, "rounded", "median_sweeps", ("Colin", "aunt")), out / "fig3.png")
    save(*fig4(ft, "rounded", "median_sweeps"), out / "fig4.png")
    curves = {("symmetry", "paper"): sym, ("family_trees", "paper"): ft}
    save(*learning_curves(curves, {"symmetry": 1425}, {"symmetry": "paper"}), out / "learning_curves.png")
    save(*fig5(SHIFT, shift), out / "fig5.png")
    grid = cells(CONFIG)
    table = pd.DataFrame(
        [
            {
                **c,
                "seeds": 2,
                "learned_by_1500": 0.1 * k,
                "final_error_median": 40.0,
                "heldout_mean": 0.2 * k,
                "heldout_at_least_3": 0.0,
            }
            for k, c in enumerate(grid.values())
        ]
    )
    share = report_settings(CONFIG)["verdicts"]["share"]
    save(*readings_map_figure(table, grid[printed_cell(CONFIG)], 4, share), out / "readings_map.png")
    return {name: out / f"{name}.png" for name in FIGURES}


def claims_files(out: Path) -> list[Path]:
    """Two claims tables: one claim with two readings and one with one; and a table
    without grouping columns, one reading per claim (the report takes several tables)."""
    rows = [
        {"id": "a_paper", "claim_id": "a", "reading": "", "verdict": "not reproduced"},
        {"id": "a_other", "claim_id": "a", "reading": "other: init_range 1.0", "verdict": "reproduced"},
        {"id": "b", "claim_id": "b", "reading": "", "verdict": "reproduced"},
    ]
    full = [{c: f"{c} of {r['id']}" for c in COLUMNS} | r for r in rows]
    pd.DataFrame(full).to_csv(out / "claims.csv", index=False)
    pd.DataFrame([{c: f"{c} it" for c in COLUMNS} | {"id": "it", "verdict": "reproduced"}]).to_csv(
        out / "claims_ungrouped.csv", index=False
    )
    return [out / "claims.csv", out / "claims_ungrouped.csv"]


PROVENANCE = {
    name: {
        "rule": "figure",
        "script": "workflow/scripts/figure.py",
        "function": f"backprop86.figures.{name}.draw",
        "config": [f"report.{name}"],
        "runs": [{"experiment": "backprop86-symmetry", "configuration": "paper", "run_id": f"run{k}"}],
    }
    for k, name in enumerate(FIGURES)
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, figure_files):
    """The report, as the workflow builds it."""
    out = tmp_path_factory.mktemp("report")
    claims = claims_files(out)
    config = copy.deepcopy(TINY)
    report = build(
        claims,
        figure_files,
        config,
        report_settings(config),
        "abc123",
        ["backprop86-symmetry"],
        PROVENANCE,
        {"claims": claims[0], "claims_ungrouped": claims[1]},
    )
    (out / "report.html").write_text(report.page)
    return out / "report.html", report


def test_report_has_every_figure_claim_and_no_broken_link(rendered, figure_files):
    _, report = rendered
    html = report.page
    page = Links()
    page.feed(html)
    assert page.rows == 4 and page.groups == 3  # every reading a row, grouped in three claims
    assert set(FIGURES) | {"claims", "provenance"} <= page.ids
    shown = [src for cls, src in page.imgs if cls == "figure"]
    full = [src for cls, src in page.imgs if cls != "figure"]
    assert len(shown) == len(full) == len(FIGURES)
    for src in shown:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]).startswith(b"\x89PNG")
    for src in full:
        assert src.startswith("data:image/svg+xml;base64,")
        assert b"<svg" in base64.b64decode(src.split(",", 1)[1])[:500]
    for href in page.hrefs:
        assert href.startswith("https://") or (href.startswith("#") and href[1:] in page.ids), href
    for name in FIGURES:  # each figure opens its full-resolution version
        assert f"#full-{name}" in page.hrefs
        facts = json.loads(figure_files[name].with_suffix(".json").read_text())
        assert f'width="{facts["width_px"]}"' in html
    # a provenance line under every figure: rule, script, config section, MLflow run, commit
    assert len(page.provenance) == len(FIGURES)
    for line, (name, p) in zip(page.provenance, PROVENANCE.items()):
        for piece in (
            "rule figure",
            p["script"],
            p["function"],
            p["config"][0],
            "backprop86-symmetry",
            p["runs"][0]["run_id"],
            "abc123",
        ):
            assert piece in " ".join(line.split()), (name, piece, line)
    assert "The published family-tree recipe does not reproduce" not in html  # no such claim row here
    # the captions quote the figures' facts
    fig2 = json.loads(figure_files["fig2"].with_suffix(".json").read_text())
    assert f"{fig2['people']} people" in report.captions["fig2"]
    assert set(report.captions) == set(FIGURES)


def test_tally_counts_claims_by_their_first_reading(rendered):
    path, report = rendered
    table = pd.concat(
        [
            pd.read_csv(path.parent / f, dtype=str, keep_default_na=False)
            for f in ("claims.csv", "claims_ungrouped.csv")
        ]
    )
    t = tally(table)
    assert [c["claim_id"] for c in t["claims"]] == ["a", "b", "it"]
    assert t["counts"] == {"reproduced": 2, "not reproduced": 1}  # claims, not rows
    assert t["readings"] == {"reproduced": 1}
    text = " ".join(re.sub("<[^>]+>", "", report.summary).split())
    assert "3 claims" in text and "2 reproduced, 1 not reproduced" in text
    assert "under reading other: init_range 1.0" in report.page
    # the claims table also stands as a page of its own, grouped the same way
    page = Links()
    page.feed(report.tables["claims"])
    assert page.rows == 3 and page.groups == 2
    assert list(pd.read_csv(path.parent / "claims.csv").columns) == [*COLUMNS, *GROUPING]


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


def chromium(url: str, *args: str) -> subprocess.CompletedProcess:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; CI must install it (apt-get install -y chromium)")
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=10000", *args, url],
            capture_output=True,
            text=True,
            timeout=180,
        )


def measure(page: Path, fragment: str = "", width: int = 1366, height: int = 768) -> dict:
    """What headless Chromium draws of ``page`` in a ``width`` x ``height`` window."""
    with tempfile.TemporaryDirectory() as tmp:  # beside nothing: the page embeds all
        probe = Path(tmp) / (page.stem + ".measure.html")
        probe.write_text(page.read_text().replace("</head>", MEASURE + "</head>", 1))
        r = chromium(probe.as_uri() + fragment, f"--window-size={width},{height}", "--dump-dom")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "Uncaught" not in r.stderr
    found = re.search(r'<pre id="measured">(.*?)</pre>', r.stdout, re.S)
    assert found, "the page's load handler did not run"
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


def open_categories(report: Path, names: list[str]) -> dict[str, str | None]:
    """What Snakemake's report shows in headless Chromium after a click on each
    category of its results menu (None: the category's link was not there)."""
    head, _, tail = report.read_text().rpartition("</body>")  # the last: the page's scripts hold others
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / report.name
        probe.write_text(head + CATEGORIES % json.dumps(names) + "</body>" + tail)
        r = chromium(probe.as_uri(), "--window-size=1366,900", "--dump-dom")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "Uncaught" not in r.stderr, r.stderr[-2000:]
    found = re.search(r'<pre id="measured">(.*?)</pre>', r.stdout, re.S)
    assert found, "the report's load handler did not run"
    return json.loads(html.unescape(found.group(1)))


def check_in_browser(page: Path, screenshot: Path, figures: int) -> dict:
    """At 1366x768 and at 1920x1080: every figure loaded and shown at no less than
    80% of its drawn width, and within the window; at 1366x768 a click on one opens
    its full-resolution version, and a full-page screenshot."""
    for width, height in ((1920, 1080), (1366, 768)):
        m = measure(page, width=width, height=height)
        assert m["viewport"][0] == width and m["viewport"][1] <= height  # the window, less its frame
        assert len(m["figures"]) == figures
        for f in m["figures"]:
            assert f["loaded"], f"{f['alt']} did not load"
            assert f["shown"] >= 0.8 * f["natural"], (
                f"{f['alt']} shown at {f['shown']} of its {f['natural']} px"
            )
            assert f["shown"] <= width, f"{f['alt']} is wider than the {width} px window"
    assert all(f["shown"] == 0 for f in m["full"])  # the full-resolution versions wait for a click
    first = m["full"][0]["id"]
    opened = {f["id"]: f for f in measure(page, "#" + first)["full"]}
    assert opened[first]["shown"] >= 1300 and opened[first]["img"] >= 2 * m["figures"][0]["natural"] - 2
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    r = chromium(page.as_uri(), f"--window-size=1366,{m['height']}", f"--screenshot={screenshot}")
    assert r.returncode == 0, r.stderr[-2000:]
    png = screenshot.read_bytes()
    assert png.startswith(b"\x89PNG") and int.from_bytes(png[16:20], "big") == 1366
    assert int.from_bytes(png[20:24], "big") == m["height"]  # the whole page, top to bottom
    return m


def test_report_reads_well_in_headless_chromium(rendered):
    path, _ = rendered
    r = chromium(path.as_uri(), "--dump-dom")
    assert r.returncode == 0, r.stderr[-2000:]
    page = Links()
    page.feed(r.stdout)  # the DOM the browser built: every figure and claim row is there
    assert page.rows == 4 and len(page.imgs) == 2 * len(FIGURES)
    check_in_browser(path, ARTIFACTS / "report-fixture-1366x768.png", len(FIGURES))


TINY_ITERATIVE = copy.deepcopy(TINY)
TINY_ITERATIVE["experiments"]["shift_register"] = {
    "task": "shift_register",
    "seeds": 4,
    "settings": {
        "units": 3,
        "steps": 3,
        "init_range": 0.3,
        "schedule": [{"start_sweep": 1, "epsilon": 0.1, "alpha": 0.9}],
        "max_sweeps": 300,
        "stop_at": "within_0_2",
        "criteria": {"rounded": 0.5, "within_0_2": 0.2},
    },
}


@pytest.mark.slow
def test_workflow_ends_with_the_report_and_snakemake_report(tmp_path):
    project = copy_project(tmp_path / "tiny", TINY_ITERATIVE)
    r = snakemake(project, "--cores", "2")
    assert r.returncode == 0, r.stderr[-3000:]
    path = project / "reports" / "backprop86.html"
    html = path.read_text()
    page = Links()
    page.feed(html)
    assert set(TINY_FIGURES) <= page.ids
    read = lambda name: pd.read_csv(project / "results" / "tables" / name, dtype=str, keep_default_na=False)  # noqa: E731
    claims = read("claims.csv")
    assert page.rows == len(claims) and page.groups == claims.claim_id.nunique()
    assert claims.id.str.startswith("iterative_").sum() == 4  # Fig. 5's claims are rows of claims.csv
    assert set(claims.verdict) <= set(VERDICTS)  # one vocabulary, Fig. 5's included
    assert "The published family-tree recipe does not reproduce" in html  # 30 sweeps learn nothing
    logged = json.loads((project / "reports" / "mlflow_runs.json").read_text())
    for line, name in zip(page.provenance, TINY_FIGURES):  # each figure's MLflow parent run, by id
        assert all(run["run_id"] in line for run in logged[name]), name
    check_in_browser(path, ARTIFACTS / "report-tiny-run-1366x768.png", len(TINY_FIGURES))

    r = snakemake(project, "--report", "report.html")
    assert r.returncode == 0, r.stderr[-3000:]
    report = (project / "report.html").read_text()
    for name in TINY_FIGURES:
        assert f'"{name}.png"' in report, f"{name} is not in Snakemake's report"
    for table in ("claims", "configurations"):
        assert f'"{table}.html"' in report, f"{table} is not in Snakemake's report"
    categories = ["The paper's figures", "The claims", "The tables", "The report"]
    shown = open_categories(project / "report.html", categories)
    assert all(shown[c] is not None for c in categories), shown  # each in the menu, and the menu still there
    for category, entries in (
        ("The paper's figures", ["Fig. 1:", "Fig. 5:", "learning curves:"]),
        ("The claims", ["claims.csv:"]),
        ("The tables", ["configurations.csv:"]),
        ("The report", ["backprop86.html:"]),
    ):
        for entry in entries:  # a click on the category lists its entries (two entries once blanked the app)
            assert entry in shown[category], (category, entry, shown[category][:500])
    assert "This run reproduces" in report  # the workflow description
    fig2 = json.loads((project / "results" / "figures" / "fig2.json").read_text())
    assert f"{fig2['triples']} facts" in report  # captions quote measured numbers
    t = tally(claims)
    assert f"{len(t['claims'])} claims" in report


def test_the_report_opens_on_a_scorecard_of_every_registered_claim(tmp_path, figure_files):
    """Every claim the registry holds, each with three further readings, as coloured chips
    on the first screen at 1366x768, above the figures; each card links to its claim's rows."""
    from backprop86.claims import CLAIMS

    rows = []
    for k, claim_id in enumerate(CLAIMS):
        for j, reading in enumerate(["", "a", "b", "c"]):
            verdict = VERDICTS[(k + j) % len(VERDICTS)]
            rows.append(
                {c: f"{c} of {claim_id} {reading}" for c in COLUMNS}
                | {"id": f"{claim_id}_{j}", "claim_id": claim_id, "reading": reading, "verdict": verdict}
            )
    pd.DataFrame(rows).to_csv(tmp_path / "claims.csv", index=False)
    config = copy.deepcopy(TINY)
    report = build(
        [tmp_path / "claims.csv"], figure_files, config, report_settings(config), "abc", [], PROVENANCE
    )
    page = tmp_path / "report.html"
    page.write_text(report.page)
    links = Links()
    links.feed(report.page)
    assert all(f"#group-{c}" in links.hrefs and f"group-{c}" in links.ids for c in CLAIMS)
    m = measure(page)
    assert [c["name"].split()[0] for c in m["cards"]] == [
        rows[4 * k]["verdict"].split()[0] for k in range(len(CLAIMS))
    ]
    assert len(m["cards"]) == len(CLAIMS) >= 15
    for card in m["cards"]:
        assert card["bottom"] <= 768 and card["right"] <= 1366, f"{card['name']} is off the first screen"
        assert card["chip"] > 0
