"""The report's plotly figures, built from :class:`ReportData` with ``plotly.graph_objects``.

Each builder returns a :class:`Panel`: the figure, or None with the reason it cannot be drawn,
and notes on what was left out (capped params, downsampled curves). A figure's page element id is
``fig-<key>``; the key is also the section name in ``ReportData.notes``. The params figures
(parallel coordinates, slices, contour) are in :mod:`.param_figures`.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sweeptrack.core.model import RunStatus
from sweeptrack.reports.report.model import Curve, HistoryPoint, ReportData, Row
from sweeptrack.reports.report.values import Range, column, finite, label, robust_range
from sweeptrack.reports.runs import short_id

__all__ = [
    "TEMPLATE",
    "Panel",
    "base_layout",
    "clipped_note",
    "curves_panel",
    "history_panel",
    "hypervolume_panel",
    "importance_label",
    "importances_panel",
    "objective_title",
    "pareto_panel",
    "scored_rows",
    "system_panel",
]

TEMPLATE = "plotly_white"
MAX_BARS = 30  # importance bars shown
MAX_SYSTEM_SERIES = 12
MAX_PARETO_PAIRS = 3
# Legends go under the plot, left-aligned, one line or more: on a phone a legend at the right
# would take half the width or cover the plot. Placed at the figure's bottom edge ("container"),
# the legend pushes the bottom margin, so it never covers the x axis's title.
LEGEND_BELOW = {
    "orientation": "h",
    "x": 0,
    "xanchor": "left",
    "yref": "container",
    "y": 0,
    "yanchor": "bottom",
}
MAX_NAMED_OUTLIERS = 5  # trials named in a figure's note on what it clips
STATUS_COLORS = {
    RunStatus.FINISHED.value: "#1f77b4",
    RunStatus.PRUNED.value: "#9e9e9e",
    RunStatus.FAILED.value: "#d62728",
    RunStatus.KILLED.value: "#8c564b",
    RunStatus.RUNNING.value: "#ff7f0e",
}


@dataclass(frozen=True, slots=True)
class Panel:
    """One figure section of the page: ``figure`` is None when there is nothing to draw, and
    ``notes`` then say why (and otherwise say what the figure leaves out)."""

    key: str
    title: str
    figure: go.Figure | None
    notes: tuple[str, ...] = field(default=())
    hint: str = ""  # how to read the figure
    min_width: int = 0  # px; a narrower screen scrolls the figure sideways

    @property
    def div_id(self) -> str:
        return f"fig-{self.key}"


def base_layout(fig: go.Figure, *, height: int = 420, **layout: object) -> go.Figure:
    """The common layout. The figure gets no template of its own: the page applies one shared
    template to every figure (:data:`TEMPLATE`), so its JSON is not repeated per figure."""
    fig.update_layout(template="none", height=height, margin={"l": 60, "r": 20, "t": 30, "b": 50})
    fig.update_layout(legend=LEGEND_BELOW)
    fig.update_layout(**layout)
    return fig


def scored_rows(data: ReportData) -> list[tuple[Row, float]]:
    """Leaderboard rows with a finite objective value, in leaderboard order."""
    scored = [(row, finite(row.objective)) for row in data.leaderboard]
    return [(row, value) for row, value in scored if value is not None]


def objective_title(data: ReportData, index: int = 0) -> str:
    objective = data.objectives[index]
    return f"{objective.metric} ({objective.summary}, {objective.goal})"


def clipped_note(outside: Sequence[str], where: str) -> str:
    """The note under a figure whose range leaves out a few trials: how many, where they are
    clipped to (``where``), and which (``outside``: one text per trial, e.g.
    ``"trial 5 (pruned, 0.144)"``)."""
    named = ", ".join(outside[:MAX_NAMED_OUTLIERS])
    more = f" and {len(outside) - MAX_NAMED_OUTLIERS} more" if len(outside) > MAX_NAMED_OUTLIERS else ""
    if len(outside) == 1:
        head = "1 trial outside the finished trials' range is"
    else:
        head = f"{len(outside)} trials outside the finished trials' range are"
    return f"{head} clipped to {where}: {named}{more}"


def _trial_text(point: HistoryPoint, index: int, value: float) -> str:
    number = point.trial_number if point.trial_number is not None else index
    return f"trial {number} ({point.status}, {value:.4g})"


def history_panel(data: ReportData) -> Panel:
    """Every trial's objective value by trial number, and the best so far as a step line. The y
    axis spans the finished trials (:func:`~.values.robust_range`): a trial far outside it (a
    pruned trial stopped at a bad first epoch) is drawn at the edge as a triangle and named in the
    notes, instead of squashing every other point into a line."""
    title = "Optimization history"
    if not data.objectives:
        return Panel("history", title, None, ("the report has no objective",))
    points = [(i, p, finite(p.value)) for i, p in enumerate(data.history)]
    drawn = [(i, p, value) for i, p, value in points if value is not None]
    if not drawn:
        return Panel("history", title, None, (f"no trial has a finite {data.objectives[0].metric} yet",))
    finished = [value for _, p, value in drawn if p.status == RunStatus.FINISHED.value]
    span = robust_range([value for _, _, value in drawn], finished)
    inside = [d for d in drawn if span is None or not span.outside(d[2])]
    outside = [d for d in drawn if span is not None and span.outside(d[2])]
    traces = [_history_trace(inside, name="trial")]
    notes = []
    if span is not None:
        traces.append(_history_trace(outside, name="outside the axis (clipped)", span=span))
        outliers = [_trial_text(p, i, value) for i, p, value in outside]
        notes.append(clipped_note(outliers, "the edge of the axis, drawn as ▼ or ▲"))
    best = [(i, p, finite(p.best_so_far)) for i, p in enumerate(data.history)]
    best = [(i, p, v if span is None else span.clip(v)) for i, p, v in best if v is not None]
    traces.append(
        go.Scatter(
            x=column([p.trial_number if p.trial_number is not None else i for i, p, _ in best]),
            y=column([v for _, _, v in best]),
            mode="lines",
            line={"shape": "hv", "color": "#2ca02c"},
            name="best so far",
        )
    )
    if len(drawn) < len(points):
        notes.append(f"{len(points) - len(drawn)} trials without a finite value are not drawn")
    fig = base_layout(go.Figure(traces), xaxis_title="trial", yaxis_title=label(objective_title(data)))
    if span is not None:
        fig.update_yaxes(range=span.padded())
    return Panel("history", title, fig, tuple(notes))


def _history_trace(
    points: Sequence[tuple[int, HistoryPoint, float]], *, name: str, span: Range | None = None
) -> go.Scatter:
    """Trials as markers coloured by status; with ``span``, drawn at its edge as triangles."""
    marker: dict[str, object] = {
        "color": column([STATUS_COLORS.get(p.status, "#ff7f0e") for _, p, _ in points]),
        "size": 7,
    }
    hover = [f"{label(short_id(p.run_id))} ({label(p.status)})" for _, p, _ in points]
    ys = [value for _, _, value in points]
    if span is not None:
        marker["symbol"] = column(["triangle-down" if v < span.low else "triangle-up" for v in ys])
        marker["size"] = 11
        hover = [f"{text}: {v:.6g}, off the axis" for text, v in zip(hover, ys, strict=True)]
        ys = [span.clip(v) for v in ys]
    return go.Scatter(
        x=column([p.trial_number if p.trial_number is not None else i for i, p, _ in points]),
        y=column(ys),
        mode="markers",
        name=name,
        marker=marker,
        hovertext=column(hover),
    )


def _curve_trace(curve: Curve) -> go.Scatter:
    pruned = curve.status == RunStatus.PRUNED.value
    prefix = f"#{curve.rank} " if curve.rank is not None else ""
    return go.Scatter(
        x=column(curve.steps),
        y=column([finite(value) for value in curve.values]),
        mode="lines",
        name=label(f"{prefix}{curve.name}" + (" (pruned)" if pruned else "")),
        opacity=0.35 if pruned else 1.0,
        line={"dash": "dot" if pruned else "solid"},
    )


def _finite(curve: Curve) -> list[float]:
    return [value for value in map(finite, curve.values) if value is not None]


def _curves_range(curves: Sequence[Curve]) -> Range | None:
    """The y range the finished runs' curves span, when another curve goes far outside it."""
    finished = [v for c in curves if c.status == RunStatus.FINISHED.value for v in _finite(c)]
    return robust_range([v for curve in curves for v in _finite(curve)], finished)


def curves_panel(data: ReportData) -> Panel:
    """The learning curves of the top-k runs; pruned runs faded and dotted."""
    title = "Learning curves"
    if data.curves is None or not data.curves.runs:
        return Panel("curves", title, None, ("no learning curves were logged",))
    curves = data.curves
    fig = go.Figure([_curve_trace(curve) for curve in curves.runs])
    base_layout(fig, xaxis_title="step", yaxis_title=label(curves.metric), legend={"font": {"size": 11}})
    kept = sum(len(curve.steps) for curve in curves.runs)
    total = sum(curve.points_total for curve in curves.runs)
    notes = [f"the top {curves.top_k} runs by the objective; pruned runs are faded and dotted"]
    if (span := _curves_range(curves.runs)) is not None:
        fig.update_yaxes(range=span.padded())
        outside = [f"{c.name} ({c.status})" for c in curves.runs if any(map(span.outside, _finite(c)))]
        notes.append(clipped_note(outside, "the edge of the axis"))
    if kept < total:
        notes.append(f"downsampled for drawing (min/max buckets): {kept:,} of {total:,} points are drawn")
    return Panel("curves", title, fig, tuple(notes))


def importance_label(rank: int, name: str) -> str:
    """A param as the importance chart names it, ``"#2 alpha"``: the other figures cite the rank."""
    return label(f"#{rank} {name}")


def importances_panel(data: ReportData) -> Panel:
    """fANOVA and PED-ANOVA importances as horizontal bars in the report's one ranking
    (``Importances.ranking``, their mean), the most important param on top as ``#1``."""
    title = "Parameter importances"
    imp = data.importances
    if imp is None or not (imp.fanova or imp.ped_anova):
        return Panel("importances", title, None, ("no importances were computed",))
    names = imp.ranking
    notes = []
    if len(names) > MAX_BARS:
        notes.append(f"the {MAX_BARS} most important of {len(names)} params are shown")
        names = names[:MAX_BARS]
    ticks = [importance_label(rank, name) for rank, name in enumerate(names, start=1)]
    ticks.reverse()  # plotly draws the first bar at the bottom
    names = names[::-1]
    bars = [
        go.Bar(y=ticks, x=[finite(values.get(n)) for n in names], orientation="h", name=who)
        for who, values in (("fANOVA", imp.fanova), ("PED-ANOVA", imp.ped_anova))
        if values
    ]
    fig = base_layout(go.Figure(bars), height=max(280, 110 + 26 * len(names)), barmode="group")
    fig.update_layout(xaxis_title="importance (sums to 1)", yaxis={"type": "category"})
    hint = (
        "Ranked by the mean of the two evaluators (#1 on top). The parallel coordinates, slice plots "
        "and contour take their params in this order."
    )
    return Panel("importances", title, fig, tuple(notes), hint=hint)


def _pareto_pair(data: ReportData, i: int, j: int) -> tuple[go.Scatter, go.Scatter]:
    assert data.pareto is not None
    front = set(data.pareto.front)
    points: list[tuple[Row, float, float]] = []
    for row in data.leaderboard:
        values = [finite(v) for v in row.objectives]
        if len(values) > max(i, j) and (x := values[i]) is not None and (y := values[j]) is not None:
            points.append((row, x, y))
    others = [p for p in points if p[0].run_id not in front]
    best = sorted((p for p in points if p[0].run_id in front), key=lambda p: p[1])

    def scatter(chosen: list[tuple[Row, float, float]], **kw: object) -> go.Scatter:
        names = [label(row.name) for row, _, _ in chosen]
        return go.Scatter(
            x=column([p[1] for p in chosen]), y=column([p[2] for p in chosen]), hovertext=names, **kw
        )

    return (
        scatter(others, name="dominated", mode="markers", marker={"color": "#bbbbbb", "size": 7}),
        scatter(best, name="Pareto front", mode="lines+markers", marker={"color": "#d62728", "size": 9}),
    )


def pareto_panel(data: ReportData) -> Panel | None:
    """The Pareto front against the dominated trials, for each pair of objectives (up to 3)."""
    title = "Pareto front"
    if data.pareto is None:
        if len(data.objectives) < 2:
            return None
        return Panel("pareto", title, None, ("no Pareto front was computed",))
    objectives = data.pareto.objectives
    pairs = list(itertools.combinations(range(len(objectives)), 2))
    notes = [f"{len(data.pareto.front)} runs on the front"]
    if not pairs:
        return Panel("pareto", title, None, ("a Pareto front needs two objectives",))
    if len(pairs) > MAX_PARETO_PAIRS:
        notes.append(f"the first {MAX_PARETO_PAIRS} of {len(pairs)} objective pairs are drawn")
        pairs = pairs[:MAX_PARETO_PAIRS]
    fig = make_subplots(rows=1, cols=len(pairs), horizontal_spacing=0.08)
    for col, (i, j) in enumerate(pairs, start=1):
        for k, trace in enumerate(_pareto_pair(data, i, j)):
            trace.update(showlegend=col == 1, legendgroup=str(k))
            fig.add_trace(trace, row=1, col=col)
        fig.update_xaxes(title_text=label(objectives[i].metric), row=1, col=col)
        fig.update_yaxes(title_text=label(objectives[j].metric), row=1, col=col)
    return Panel("pareto", title, base_layout(fig), tuple(notes))


def hypervolume_panel(data: ReportData) -> Panel | None:
    title = "Hypervolume history"
    if data.pareto is None:
        return None
    if not data.pareto.hypervolume:
        return Panel("hypervolume", title, None, ("no hypervolume history was computed",))
    points = [(n, finite(v)) for n, v in data.pareto.hypervolume]
    line = go.Scatter(x=[n for n, _ in points], y=[v for _, v in points], mode="lines+markers", name="hv")
    fig = base_layout(go.Figure([line]), height=320, xaxis_title="trial", yaxis_title="hypervolume")
    reference = ", ".join(f"{v:g}" for v in data.pareto.reference_point)
    return Panel("hypervolume", title, fig, (f"reference point: ({reference})",) if reference else ())


def system_panel(data: ReportData) -> Panel:
    """The best trial's ``system/*`` metrics, one row of subplots per series."""
    title = "System metrics of the best trial"
    if data.system is None or not data.system.series:
        return Panel("system", title, None, ("no system metrics were logged for the best trial",))
    names = sorted(data.system.series)
    notes = []
    if len(names) > MAX_SYSTEM_SERIES:
        notes.append(f"the first {MAX_SYSTEM_SERIES} of {len(names)} series are drawn")
        names = names[:MAX_SYSTEM_SERIES]
    fig = make_subplots(
        rows=len(names),
        cols=1,
        shared_xaxes=True,
        subplot_titles=[label(n) for n in names],
        vertical_spacing=0.06,
    )
    for row, name in enumerate(names, start=1):
        curve = data.system.series[name]
        ys = [finite(v) for v in curve.values]
        fig.add_trace(
            go.Scatter(x=column(curve.steps), y=column(ys), mode="lines", name=label(name)), row=row, col=1
        )
    base_layout(fig, height=80 + 170 * len(names), showlegend=False)
    return Panel("system", title, fig, tuple(notes))
