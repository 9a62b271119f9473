"""The shared Jinja2 environment: autoescaping everywhere, undefined names are errors, the
generic partials, and jinja2 loaded only when a page is rendered."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jinja2
import pytest

from sweeptrack.reports.templates import (
    Cell,
    Column,
    Table,
    TableRow,
    build_environment,
    environment,
    json_script,
)

PAYLOAD = '<script>alert(1)</script>"><img src=x onerror=alert(1)>'
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img src=x onerror=alert(1)&gt;"


def test_importing_sweeptrack_and_the_templates_module_loads_no_jinja2() -> None:
    code = (
        "import json, sys, sweeptrack, sweeptrack.reports.templates; "
        "print(json.dumps([m for m in ('jinja2', 'markupsafe') if m in sys.modules]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(done.stdout) == []


def test_one_cached_environment_escapes_every_template_and_refuses_undefined_names() -> None:
    env = environment()
    assert environment() is env and env.autoescape is True
    rendered = env.from_string("<p title='{{ x }}'>{{ x }}</p>").render(x=PAYLOAD + "'")
    assert rendered == f"<p title='{ESCAPED}&#39;'>{ESCAPED}&#39;</p>"
    with pytest.raises(jinja2.UndefinedError, match="'missing' is undefined"):
        env.from_string("{{ missing }}").render()


def test_the_table_partial_escapes_headers_cells_links_and_attributes() -> None:
    table = Table(
        id="runs",
        cls="sortable",
        columns=[Column(label=PAYLOAD, title=PAYLOAD, sortable=True)],
        rows=[
            TableRow(
                cells=[Cell(text=PAYLOAD, href=f"/runs/{PAYLOAD}", sort="1.5", title=PAYLOAD, code=PAYLOAD)],
                data=[("run-id", PAYLOAD)],
            )
        ],
    )
    page = (
        environment()
        .from_string('{% from "partials/table.html" import table %}{{ table(t) }}')
        .render(t=table)
    )

    assert "<script" not in page and "<img" not in page
    assert f'<th title="{ESCAPED}" tabindex="0">{ESCAPED}</th>' in page
    assert f'<tr data-run-id="{ESCAPED}"><td data-v="1.5" title="{ESCAPED}">' in page
    assert f'<a href="/runs/{ESCAPED}">{ESCAPED}</a> <code class="rid">{ESCAPED}</code></td>' in page


def test_the_figure_partial_keeps_its_json_inside_the_script_element() -> None:
    figure = json.dumps({"layout": {"title": "</script><script>alert(1)</script> & \u2028"}})
    page = (
        environment()
        .from_string('{% from "partials/figure.html" import figure %}{{ figure("fig-1", 300, text) }}')
        .render(text=figure)
    )

    assert page.count("</script>") == 1 and page.count("<script") == 1
    block = page.split('<script type="application/json" id="fig-1-data">')[1].split("</script>")[0]
    assert json.loads(block) == json.loads(figure)
    assert 'style="min-width: 300px"' in page
    assert str(json_script("<>&")) == "\\u003c\\u003e\\u0026"


def test_a_dashboard_environment_finds_its_pages_first_and_the_shared_partials(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text(
        '{% extends "layout.html" %}{% from "partials/badge.html" import badge %}'
        "{% block title %}{{ name }}{% endblock %}{% block body %}{{ badge(status) }}{% endblock %}"
    )
    env = build_environment(jinja2.FileSystemLoader(tmp_path))

    page = env.get_template("page.html").render(name=PAYLOAD, status="pruned")

    assert f"<title>{ESCAPED}</title>" in page
    assert '<span class="badge status-pruned">pruned</span>' in page
    assert env is not environment() and env.autoescape is True
