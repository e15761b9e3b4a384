"""The report: one self-contained HTML file, rendered with jinja2 from workflow outputs.

Nothing in it is typed in: the claims come from ``claims.csv`` (every registered
claim of :mod:`backprop86.claims`, Fig. 5's included), every figure is embedded
from the PNG the workflow drew at the size the page shows it (a click opens the
full-resolution SVG drawn beside it), and every number in a caption comes from
the facts JSON written beside that figure. Under each figure a provenance line
names the rule, script, config sections, MLflow runs and commit that made it.

The same captions and tables go to Snakemake's own report (``snakemake
--report``): :func:`build` returns them as separate HTML fragments and pages.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import pandas as pd
import yaml

from .claims import COLUMNS, settings_diff, tally, with_grouping
from .config import resolve
from .figures import FIGURES

REFERENCE = (
    'D. E. Rumelhart, G. E. Hinton and R. J. Williams, "Learning representations by '
    'back-propagating errors", Nature 323, 533-536 (1986)'
)
DOI = "https://doi.org/10.1038/323533a0"


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("backprop86", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,  # a caption naming a missing fact fails, never renders blank
        keep_trailing_newline=True,
    )
    env.globals["num"] = lambda x, fmt="%.2f": fmt % x if x is not None else "n/a"
    return env


def caption(env: jinja2.Environment, name: str, facts: dict, readings: dict, settings: dict) -> str:
    """A figure's caption: its module's ``CAPTION`` with the figure's facts and the config's readings."""
    template = env.from_string(FIGURES[name].CAPTION)
    return template.render(f=facts, readings=readings, settings=settings).strip()


def read_claims(path: Path) -> pd.DataFrame:
    """A claims table, checked for the columns of :mod:`backprop86.claims`, with
    its grouping columns (one reading per claim where it has none)."""
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(
            f"claims table {path} lacks the column(s) {', '.join(missing)}; expected {', '.join(COLUMNS)}"
        )
    return with_grouping(table)


def data_uri(path: Path, kind: str) -> str:
    """``path`` as a data URI, checked to be a ``kind`` (png or svg) file."""
    data = Path(path).read_bytes()
    if kind == "png" and not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ValueError(f"figure {path} is not a PNG file")
    if kind == "svg" and b"<svg" not in data[:2000]:
        raise ValueError(f"figure {path} is not an SVG file")
    mime = {"png": "image/png", "svg": "image/svg+xml"}[kind]
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")


@dataclass
class Report:
    """What :func:`build` renders: the page, each figure's caption and the tables
    as pages of their own (for Snakemake's report)."""

    page: str
    captions: dict[str, str] = field(default_factory=dict)
    tables: dict[str, str] = field(default_factory=dict)
    summary: str = ""  # the claims counted, one paragraph of HTML


def readings_of(config: dict, settings: dict) -> dict:
    """The readings the captions and the readings section name."""
    sym, ft = settings["symmetry"], settings["family_trees"]
    readings = {}
    if sym is not None:
        readings["criterion"] = sym["criterion"]
        readings["tolerance"] = resolve(config, sym["experiment"])["criteria"][sym["criterion"]]
    if ft is not None:
        readings.update(
            family_main=resolve(config, ft["experiment"], ft["main"]),
            trained=ft["trained"],
            trained_diff=settings_diff(config, ft["experiment"], ft["trained"]),
            alternatives={
                c: settings_diff(config, ft["experiment"], c)
                for c in config["experiments"][ft["experiment"]].get("variants", {})
            },
        )
    return readings


def build(
    claims: list[Path],
    figures: dict[str, Path],
    config: dict,
    settings: dict,
    commit: str,
    experiments: list[str],
    provenance: dict | None = None,
    tables: dict[str, Path] | None = None,
) -> Report:
    """The report. ``claims``: claims CSVs in display order; ``figures``: figure
    name (one of :data:`FIGURES`) -> PNG, with its facts JSON and full-resolution
    SVG beside it; ``settings``: the report settings
    (:func:`backprop86.claims.report_settings`); ``provenance``: figure name ->
    ``{"rule", "script", "config": [sections], "runs": [{"experiment",
    "configuration", "run_id"}]}``; ``tables``: name -> CSV, each also rendered
    as a page of its own."""
    unknown = sorted(set(figures) - set(FIGURES))
    if unknown:
        raise ValueError(f"unknown figure(s) {', '.join(unknown)}; known: {', '.join(FIGURES)}")
    provenance = provenance or {}
    frames = [read_claims(p) for p in claims]
    table = pd.concat(frames, ignore_index=True) if frames else with_grouping(pd.DataFrame(columns=COLUMNS))
    rows = table.to_dict("records")
    grouped = tally(table)
    figs = {}
    for name, png in figures.items():
        png = Path(png)
        facts_path, svg = png.with_suffix(".json"), png.with_suffix(".svg")
        facts = json.loads(facts_path.read_text()) if facts_path.is_file() else {}
        figs[name] = {
            "src": data_uri(png, "png"),
            "full": data_uri(svg, "svg") if svg.is_file() else None,
            "facts": facts,
            "width": facts.get("width_px"),
            "height": facts.get("height_px"),
            "title": FIGURES[name].TITLE,
            "provenance": provenance.get(name),
        }
    readings = readings_of(config, settings)
    env = environment()
    captions = {name: caption(env, name, f["facts"], readings, settings) for name, f in figs.items()}
    page = env.get_template("report.html.j2").render(
        reference=REFERENCE,
        doi=DOI,
        claims=rows,
        grouped=grouped,
        by_id={r["id"]: r for r in rows},
        readings=readings,
        figures=figs,
        captions=captions,
        settings=settings,
        config_yaml=yaml.safe_dump(config, sort_keys=False),
        commit=commit,
        experiments=experiments,
    )
    pages = {}
    for name, path in (tables or {}).items():
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        is_claims = all(c in frame.columns for c in COLUMNS)
        pages[name] = env.get_template("table.html.j2").render(
            title=Path(path).name,
            grouped=tally(with_grouping(frame)) if is_claims else None,
            frame=frame if not is_claims else None,
        )
    summary = env.from_string(
        '{% from "claims_table.html.j2" import tally_text %}<p>{{ tally_text(grouped) }}</p>'
    )
    return Report(page=page, captions=captions, tables=pages, summary=summary.render(grouped=grouped).strip())


def render(
    claims: list[Path],
    figures: dict[str, Path],
    config: dict,
    settings: dict,
    commit: str,
    experiments: list[str],
    provenance: dict | None = None,
) -> str:
    """The report's HTML page (see :func:`build`)."""
    return build(claims, figures, config, settings, commit, experiments, provenance).page
