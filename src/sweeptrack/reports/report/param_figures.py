"""The figures over params: parallel coordinates, a slice plot per param, and a contour of the two
most important numeric params.

Params become plot axes through :func:`~.values.param_axis`: categories, strings and bools are
numbered with their text on the ticks; params that cannot be drawn (constant, no values, too many
distinct strings, missing in some runs) are left out by name in the panel's notes, and so are
params beyond the caps (the most important params, by fANOVA or PED-ANOVA, come first).
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sweeptrack.core.model import RunStatus
from sweeptrack.reports.report.figures import (
    Panel,
    base_layout,
    clipped_note,
    objective_title,
    scored_rows,
)
from sweeptrack.reports.report.model import ReportData, Row
from sweeptrack.reports.report.values import (
    Axis,
    Range,
    column,
    describe_skipped,
    finite,
    label,
    param_axis,
    rank_params,
    robust_range,
)

__all__ = ["MAX_DIMENSIONS", "MAX_SLICES", "contour_panel", "parallel_panel", "slice_panel"]

MAX_DIMENSIONS = 30  # params on the parallel coordinates
MAX_SLICES = 12
MIN_SLICE_WIDTH = 160  # px per column of slices; a phone scrolls the grid sideways
MIN_CONTOUR_TRIALS = 5
_GRID = 40  # contour grid points per side


def _ranking(data: ReportData) -> list[str]:
    """The report's one importance ranking, as the importance chart shows it."""
    return [] if data.importances is None else data.importances.ranking


def _axes(data: ReportData, rows: list[Row], *, complete: bool) -> tuple[list[Axis], dict[str, str]]:
    """Each param over ``rows`` as an axis, ranked; and the params that are not, with why."""
    axes: list[Axis] = []
    skipped: dict[str, str] = {}
    for name in data.param_names:
        axis = param_axis(name, [row.params.get(name) for row in rows])
        if isinstance(axis, str):
            skipped[name] = axis
        elif complete and not axis.complete:
            skipped[name] = "missing or not finite in some runs"
        else:
            axes.append(axis)
    return rank_params(axes, _ranking(data)), skipped


def _capped(axes: list[Axis], cap: int, skipped: dict[str, str]) -> tuple[list[Axis], list[str]]:
    notes = [f"params not drawn: {describe_skipped(skipped)}"] if skipped else []
    if len(axes) > cap:
        notes.append(f"{cap} of {len(axes)} params are drawn: the most important (then most varied) first")
    return axes[:cap], notes


def _too_few(key: str, title: str, data: ReportData, scored: int, needed: int) -> Panel | None:
    if not data.objectives:
        return Panel(key, title, None, ("the report has no objective",))
    if scored < needed:
        return Panel(key, title, None, (f"needs {needed} runs with a finite objective; {scored} so far",))
    return None


Drawn = tuple[list[tuple[Row, float]], list[Axis], list[str]]


def _params_to_draw(
    key: str, title: str, data: ReportData, *, needed: int, complete: bool, cap: int
) -> Drawn | Panel:
    """The runs with a finite objective, the params to draw over them (ranked, at most ``cap``)
    and notes on those left out; or the panel that says why nothing can be drawn."""
    scored = scored_rows(data)
    if (empty := _too_few(key, title, data, len(scored), needed)) is not None:
        return empty
    axes, skipped = _axes(data, [row for row, _ in scored], complete=complete)
    axes, notes = _capped(axes, cap, skipped)
    if not axes:
        return Panel(key, title, None, (*notes, "no param can be drawn"))
    return scored, axes, notes


def _dimension(axis: Axis) -> dict[str, object]:
    dimension: dict[str, object] = {"label": label(axis.title), "values": column(axis.values)}
    ticks = axis.ticks()
    if ticks is not None:
        dimension["tickvals"], dimension["ticktext"] = ticks
    return dimension


def parallel_panel(data: ReportData) -> Panel:
    """Parallel coordinates over the params (up to :data:`MAX_DIMENSIONS`) and the objective. The
    objective's axis and colour scale span the finished trials (:func:`~.values.robust_range`):
    a trial far outside ends at the axis's edge, whose tick says so (``≤ 0.917``)."""
    title = "Parallel coordinates"
    found = _params_to_draw("parallel", title, data, needed=2, complete=True, cap=MAX_DIMENSIONS)
    if isinstance(found, Panel):
        return found
    scored, axes, notes = found
    values = [value for _, value in scored]
    objective: dict[str, object] = {"label": label(objective_title(data)), "values": column(values)}
    line: dict[str, object] = {"color": column(values), "colorscale": "Viridis", "showscale": True}
    if (span := _objective_range(scored)) is not None:
        clipped = column([span.clip(value) for value in values])
        objective.update(values=clipped, range=[span.low, span.high], **_edge_ticks(span, values))
        line.update(color=clipped, cmin=span.low, cmax=span.high)
        outside = [_row_text(row, value) for row, value in scored if span.outside(value)]
        notes.append(clipped_note(outside, "the edge of the objective's axis, its tick marked ≤ or ≥"))
    trace = go.Parcoords(
        dimensions=[*(_dimension(axis) for axis in axes), objective],
        line=line,
        labelangle=-20 if len(axes) > 8 else 0,
    )
    fig = base_layout(go.Figure([trace]), height=460, margin={"l": 60, "r": 60, "t": 70, "b": 30})
    return Panel("parallel", title, fig, tuple(notes))


def _objective_range(scored: list[tuple[Row, float]]) -> Range | None:
    """The range of the objective the finished runs span, when another run lies far outside it."""
    finished = [value for row, value in scored if row.status == RunStatus.FINISHED.value]
    return robust_range([value for _, value in scored], finished)


def _row_text(row: Row, value: float) -> str:
    trial = f"trial {row.trial_number}" if row.trial_number is not None else label(row.name)
    return f"{trial} ({row.status}, {value:.4g})"


def _edge_ticks(span: Range, values: list[float]) -> dict[str, list[object]]:
    """Five ticks over ``span``; an edge that clips a value reads ``≤ low`` or ``≥ high``."""
    ticks = np.linspace(span.low, span.high, 5).tolist()
    text = [f"{tick:.4g}" for tick in ticks]
    if any(value < span.low for value in values):
        text[0] = f"≤ {text[0]}"
    if any(value > span.high for value in values):
        text[-1] = f"≥ {text[-1]}"
    return {"tickvals": ticks, "ticktext": text}


def _apply_ticks(fig: go.Figure, axis: Axis, row: int, col: int) -> None:
    ticks = axis.ticks()
    if ticks is not None:
        fig.update_xaxes(tickvals=ticks[0], ticktext=ticks[1], row=row, col=col)


def _slice_trace(axis: Axis, scored: list[tuple[Row, float]], span: Range | None) -> go.Scatter:
    """The objective against one param; the runs without a value for it are left out, and with
    ``span`` the runs beyond it are drawn at its edge as triangles."""
    points = [(x, y, i, row) for i, (x, (row, y)) in enumerate(zip(axis.values, scored, strict=True))]
    points = [p for p in points if p[0] is not None]
    ys = [p[1] for p in points]
    marker: dict[str, object] = {
        "color": column([p[2] for p in points]),
        "colorscale": "Blues",
        "size": 6,
        "line": {"width": 0.5},
    }
    if span is not None:
        marker["symbol"] = [_edge_symbol(span, y) for y in ys]
        marker["size"] = [10 if span.outside(y) else 6 for y in ys]
        ys = [span.clip(y) for y in ys]
    return go.Scatter(
        x=column([p[0] for p in points]),
        y=column(ys),
        mode="markers",
        marker=marker,
        hovertext=column([label(f"{p[3].name}: {p[1]:.6g}") for p in points]),
        showlegend=False,
    )


def _edge_symbol(span: Range, value: float) -> str:
    return "triangle-down" if value < span.low else "triangle-up" if value > span.high else "circle"


def slice_panel(data: ReportData) -> Panel:
    """The objective against each param (up to :data:`MAX_SLICES`), colored by trial order; the
    y axes span the finished runs (a run far outside is drawn at the edge as a triangle)."""
    title = "Slice plots"
    found = _params_to_draw("slice", title, data, needed=1, complete=False, cap=MAX_SLICES)
    if isinstance(found, Panel):
        return found
    scored, axes, notes = found
    cols = min(4, len(axes))
    rows = math.ceil(len(axes) / cols)
    titles = [label(axis.title) for axis in axes]
    fig = make_subplots(rows=rows, cols=cols, shared_yaxes=True, subplot_titles=titles, vertical_spacing=0.12)
    places = [(k // cols + 1, k % cols + 1) for k in range(len(axes))]
    span = _objective_range(scored)
    traces = [_slice_trace(axis, scored, span) for axis in axes]
    fig.add_traces(traces, rows=[r for r, _ in places], cols=[c for _, c in places])
    for axis, (r, c) in zip(axes, places, strict=True):
        _apply_ticks(fig, axis, r, c)
    fig.update_yaxes(title_text=label(data.objectives[0].metric), col=1)
    if span is not None:
        fig.update_yaxes(range=span.padded())
        outside = [_row_text(row, value) for row, value in scored if span.outside(value)]
        notes.append(clipped_note(outside, "the edge of the y axes, drawn as ▼ or ▲"))
    fig = base_layout(fig, height=60 + 260 * rows)
    return Panel("slice", title, fig, tuple(notes), min_width=MIN_SLICE_WIDTH * cols)


def _interpolate(xs: list[float], ys: list[float], zs: list[float]) -> tuple[list[float], list[float], list]:
    """The objective on a regular grid over the trials' hull (linear; None outside it).

    Raises:
        ValueError: The points lie on a line (scipy's QhullError is a ValueError).
    """
    from scipy.interpolate import griddata  # loaded only when a contour is drawn (it takes a second)

    gx = np.linspace(min(xs), max(xs), _GRID)
    gy = np.linspace(min(ys), max(ys), _GRID)
    mesh_x, mesh_y = np.meshgrid(gx, gy)
    z = griddata((np.array(xs), np.array(ys)), np.array(zs), (mesh_x, mesh_y), method="linear")
    return gx.tolist(), gy.tolist(), [[finite(v) for v in row] for row in z.tolist()]


def _contour_params(data: ReportData, axes: list[Axis]) -> tuple[Axis, Axis, str] | str:
    """The first two numeric params of the importance ranking (the chart's ``#1``, ``#2``, ...)
    and a note that names them by that rank; or why there are none."""
    numeric = [axis for axis in axes if axis.categories is None]
    if len(numeric) < 2:
        return f"needs 2 numeric params that vary; {len(numeric)} found"
    a, b = numeric[:2]
    rank = {name: index for index, name in enumerate(_ranking(data), start=1)}
    if a.name not in rank or b.name not in rank:
        return a, b, f"{a.name} against {b.name}: no importances, so the most varied; interpolated linearly"
    note = f"#{rank[a.name]} {a.name} against #{rank[b.name]} {b.name} of the importance ranking"
    note += ", interpolated linearly"
    passed = [f"#{rank[x.name]} {x.name}" for x in axes[: axes.index(b)] if x.categories is not None]
    if passed:
        verb = "ranks higher but is a category" if len(passed) == 1 else "rank higher but are categories"
        note += f"; {', '.join(passed)} {verb}, which a contour cannot draw"
    return a, b, note


def contour_panel(data: ReportData) -> Panel:
    """The objective interpolated over the two most important numeric params (by the ranking
    the importance chart shows), with the trials."""
    title = "Contour of the two most important numeric params"
    scored = scored_rows(data)
    if (empty := _too_few("contour", title, data, len(scored), MIN_CONTOUR_TRIALS)) is not None:
        return empty
    axes, _ = _axes(data, [row for row, _ in scored], complete=False)
    chosen = _contour_params(data, axes)
    if isinstance(chosen, str):
        return Panel("contour", title, None, (chosen,))
    a, b, note = chosen
    points = [
        (x, y, z, row)
        for x, y, (row, z) in zip(a.values, b.values, scored, strict=True)
        if x is not None and y is not None
    ]
    if len(points) < MIN_CONTOUR_TRIALS:
        return Panel("contour", title, None, (f"needs {MIN_CONTOUR_TRIALS} runs with both params",))
    xs, ys, zs = ([p[i] for p in points] for i in range(3))
    try:
        gx, gy, grid = _interpolate(xs, ys, zs)  # type: ignore[arg-type]
    except ValueError as exc:
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return Panel("contour", title, None, (f"cannot interpolate: the trials lie on a line ({why})",))
    contour = go.Contour(
        x=gx,
        y=gy,
        z=grid,
        colorscale="Viridis",
        colorbar={"title": {"text": label(data.objectives[0].metric)}},
    )
    notes = [note]
    if (span := _objective_range([(p[3], p[2]) for p in points])) is not None:
        contour.update(zmin=span.low, zmax=span.high)  # the colours resolve the finished runs
        outside = [_row_text(p[3], p[2]) for p in points if span.outside(p[2])]
        notes.append(clipped_note(outside, "the end of the colour scale"))
    trials = go.Scatter(
        x=column(xs),
        y=column(ys),
        mode="markers",
        marker={"color": "black", "size": 5},
        name="trials",
        showlegend=False,
    )
    fig = base_layout(go.Figure([contour, trials]), height=480)
    fig.update_layout(xaxis_title=label(a.title), yaxis_title=label(b.title))
    for axis, update in ((a, fig.update_xaxes), (b, fig.update_yaxes)):
        if (ticks := axis.ticks()) is not None:
            update(tickvals=ticks[0], ticktext=ticks[1])
    return Panel("contour", title, fig, tuple(notes))
