"""The report: one self-contained HTML file, rendered with jinja2 from workflow outputs.

Nothing in it is typed in: the claims come from ``claims.csv`` (and, when the
config has iterative nets, ``claims_iterative.csv``), every figure is embedded
as base64 from the PNG the workflow drew, and every number in a caption comes
from the facts JSON written beside that figure.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import jinja2
import pandas as pd
import yaml

from .claims import COLUMNS, settings_diff
from .config import resolve

FIGURES = ("fig1", "fig2", "fig3", "fig4", "learning_curves", "fig5")
REFERENCE = (
    'D. E. Rumelhart, G. E. Hinton and R. J. Williams, "Learning representations by '
    'back-propagating errors", Nature 323, 533-536 (1986)'
)
DOI = "https://doi.org/10.1038/323533a0"


def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("backprop86", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,  # a caption naming a missing fact fails, never renders blank
        keep_trailing_newline=True,
    )


def read_claims(path: Path) -> pd.DataFrame:
    """A claims table, checked for the columns of :mod:`backprop86.claims`."""
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(
            f"claims table {path} lacks the column(s) {', '.join(missing)}; expected {', '.join(COLUMNS)}"
        )
    return table[COLUMNS]


def embed_png(path: Path) -> str:
    data = Path(path).read_bytes()
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ValueError(f"figure {path} is not a PNG file")
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def render(
    claims: list[Path],
    figures: dict[str, Path],
    config: dict,
    settings: dict,
    commit: str,
    experiments: list[str],
) -> str:
    """The report's HTML. ``claims``: claims CSVs in display order; ``figures``:
    figure name (one of :data:`FIGURES`) -> PNG, with its facts JSON beside it
    where there is one; ``settings``: the report settings
    (:func:`backprop86.claims.report_settings`)."""
    unknown = sorted(set(figures) - set(FIGURES))
    if unknown:
        raise ValueError(f"unknown figure(s) {', '.join(unknown)}; known: {', '.join(FIGURES)}")
    tables = [read_claims(p) for p in claims]
    rows = pd.concat(tables, ignore_index=True).to_dict("records") if tables else []
    figs = {}
    for name, png in figures.items():
        facts_path = Path(png).with_suffix(".json")
        figs[name] = {
            "src": embed_png(png),
            "facts": json.loads(facts_path.read_text()) if facts_path.is_file() else {},
        }
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
            alternatives={c: settings_diff(config, ft["experiment"], c)
                          for c in config["experiments"][ft["experiment"]].get("variants", {})},
        )  # fmt: skip
    counts = {v: sum(r["verdict"] == v for r in rows) for v in dict.fromkeys(r["verdict"] for r in rows)}
    return environment().get_template("report.html.j2").render(
        reference=REFERENCE, doi=DOI, claims=rows, by_id={r['id']: r for r in rows}, readings=readings, verdict_counts=counts, figures=figs, settings=settings,
        config_yaml=yaml.safe_dump(config, sort_keys=False), commit=commit, experiments=experiments,
    )  # fmt: skip
