"""The report template escapes by default: text from tables and the config can
never become markup, and the page reads exactly as it did unescaped."""

import copy
from html.parser import HTMLParser

import jinja2
import pandas as pd
from conftest import TINY

from backprop86 import report
from backprop86.claims import COLUMNS, report_settings
from backprop86.figures.fig2 import fig2
from backprop86.figures.style import save


class Page(HTMLParser):
    """What a browser shows: the tags, their decoded attributes and the decoded text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.items = []

    def handle_starttag(self, tag, attrs):
        self.items.append(("tag", tag, tuple(attrs)))

    def handle_endtag(self, tag):
        self.items.append(("end", tag))

    def handle_data(self, data):
        self.items.append(("text", data))


def read(html: str) -> list:
    page = Page()
    page.feed(html)
    return page.items


def render(tmp_path, claim_text: str) -> str:
    save(*fig2(), tmp_path / "fig2.png")
    rows = [{c: f"{c}: {claim_text}" for c in COLUMNS} | {"id": "c0", "verdict": "reproduced"}]
    pd.DataFrame(rows).to_csv(tmp_path / "claims.csv", index=False)
    config = copy.deepcopy(TINY)
    return report.render(
        [tmp_path / "claims.csv"],
        {"fig2": tmp_path / "fig2.png"},
        config,
        report_settings(config),
        "abc123",
        ["backprop86-symmetry"],
    )


def test_autoescape_is_on_for_the_report_template():
    assert report.environment().autoescape("report.html.j2") is True


def test_markup_in_a_table_is_shown_as_text(tmp_path):
    html = render(tmp_path, "<script>alert('x')</script> & <b>bold</b>")
    assert "<script>" not in html and "<b>bold</b>" not in html
    texts = [i[1] for i in read(html) if i[0] == "text"]
    assert any("<script>alert('x')</script> & <b>bold</b>" in t for t in texts)


def test_escaped_page_reads_exactly_as_the_unescaped_one(tmp_path, monkeypatch):
    plain_text = "E = 4 plateau; 'rounded' & \"within 0.2\", 3/4 held out"
    escaped = render(tmp_path, plain_text)
    unescaped_env = report.environment()

    def off():
        env = jinja2.Environment(
            loader=unescaped_env.loader,
            autoescape=False,
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
        )
        return env

    monkeypatch.setattr(report, "environment", off)
    unescaped = render(tmp_path, plain_text)
    assert escaped != unescaped, "something was escaped"
    assert read(escaped) == read(unescaped)
