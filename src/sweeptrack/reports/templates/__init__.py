"""The one way sweeptrack writes HTML: Jinja2 templates with autoescaping on.

Every page of ours (the offline report, the dashboard) is rendered from the templates in this
folder through :func:`environment`, so every name and value from the database is escaped by the
template engine, never by hand. Markup from our own code that must pass as it is (the page's CSS
and JavaScript, plotly.js) is marked with :func:`trusted` where it is made; JSON for a
``<script>`` element goes through the ``json_script`` filter.

The folder holds:

- ``layout.html``: the bare page (``title``, ``head`` and ``body`` blocks);
- ``partials/``: generic pieces: ``table.html`` (a :class:`Table`), ``figure.html`` (a plotly
  figure's div and its JSON), ``section.html`` (a titled section with notes and a hint),
  ``badge.html`` (a status badge);
- ``report/``: the offline report's page and sections.

A dashboard gets an environment with its own loader in front of this one from
:func:`build_environment` and reuses the layout and the partials. jinja2 is imported only when
a page is rendered: ``import sweeptrack`` does not load it.

Example:
    >>> page = environment().get_template("report/page.html").render(**context)  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import jinja2
    import markupsafe

__all__ = [
    "FOLDER",
    "Cell",
    "Column",
    "Group",
    "Table",
    "TableRow",
    "build_environment",
    "environment",
    "json_script",
    "status_class",
    "trusted",
]

FOLDER = Path(__file__).parent
"""The folder of the templates (a dashboard's ``FileSystemLoader`` may list it after its own)."""

_SCRIPT_UNSAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Cell:
    """One table cell, as text: the template escapes it.

    Attributes:
        text: What the cell shows.
        sort: The sort key (``data-v``): a number as JavaScript reads it, "" to sort last, None
            to sort by the text.
        title: The tooltip.
        cls: CSS classes of the cell.
        href: Makes the text a link.
        badge: CSS classes of a badge around the text (``"badge status-finished"``).
        code: Small secondary text after the text (a short run id).
    """

    text: str = ""
    sort: str | None = None
    title: str | None = None
    cls: str | None = None
    href: str | None = None
    badge: str | None = None
    code: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Column:
    """A column header; ``sortable`` ones are focusable (the page's script sorts on a click)."""

    label: str
    cls: str | None = None
    title: str | None = None
    sortable: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Group:
    """A header cell over ``span`` columns (the row above the column headers)."""

    label: str
    span: int


@dataclass(frozen=True, slots=True, kw_only=True)
class TableRow:
    """A body row: ``head`` is a leading ``<th>`` (a comparison's row name); a row with a
    ``section`` is a divider that spans the table and has no cells."""

    cells: Sequence[Cell] = ()
    head: Cell | None = None
    cls: str | None = None
    data: Sequence[tuple[str, str]] = ()  # ``data-*`` attributes: (name without "data-", value)
    section: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Table:
    """What ``partials/table.html`` draws: optional column groups, the column headers, the rows."""

    columns: Sequence[Column]
    rows: Sequence[TableRow]
    groups: Sequence[Group] = ()
    id: str | None = None
    cls: str | None = None
    corner: bool = False  # an empty header cell above the rows' ``head`` cells


def status_class(status: str) -> str:
    """``status-<status>``, reduced to the characters a CSS class may hold."""
    return "status-" + re.sub(r"[^a-z0-9_-]", "", status.lower())


def trusted(markup: str) -> markupsafe.Markup:
    """Markup made by our own code (CSS, JavaScript, an already rendered template) that the
    templates insert as it is. Never call it on data."""
    import markupsafe

    return markupsafe.Markup(markup)


def json_script(text: str) -> markupsafe.Markup:
    """JSON text made safe inside a ``<script>`` element: ``<``, ``>``, ``&``, U+2028 and U+2029
    become ``\\u`` escapes (the JSON still parses to the same value), so it cannot close its
    element or open a comment."""
    import markupsafe

    return markupsafe.Markup(re.sub("[<>&\u2028\u2029]", lambda m: _SCRIPT_UNSAFE[m.group()], text))


def build_environment(*first: jinja2.BaseLoader) -> jinja2.Environment:
    """A new environment like :func:`environment`'s whose templates are looked up in the loaders
    ``first`` before this package's (a dashboard's pages, which may extend ``layout.html`` and
    import the partials).

    Example:
        >>> env = build_environment(jinja2.PackageLoader("mypkg", "templates"))  # doctest: +SKIP
    """
    import jinja2

    loader = jinja2.ChoiceLoader([*first, jinja2.FileSystemLoader(FOLDER)])
    env = jinja2.Environment(
        loader=loader,
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["json_script"] = json_script
    env.filters["status_class"] = status_class
    return env


@functools.cache
def environment() -> jinja2.Environment:
    """The shared Jinja2 environment of this package's templates (made once): autoescaping on
    for every template, undefined names are errors (``StrictUndefined``).

    Filters: ``json_script`` (see :func:`json_script`), ``status_class`` (see :func:`status_class`).
    """
    return build_environment()
