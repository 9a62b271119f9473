"""The page's own CSS and JavaScript, small enough to keep as string constants.

``ERRORS_JS`` runs first in ``<head>``: it collects uncaught errors, rejected promises and
``console.error`` calls into ``window.reportErrors`` (a page that drew everything has an empty
list; the browser tests read it). ``PAGE_JS`` runs last: it draws every figure from the one JSON
block, then makes tables sortable (click a header; numbers sort as numbers, empty and NaN last)
and the leaderboard filterable.
"""

from __future__ import annotations

__all__ = ["CSS", "ERRORS_JS", "PAGE_JS"]

CSS = """
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
  margin: 0; color: #1d232a; background: #f6f7f9; }
header { background: #1d2b3a; color: #fff; padding: 14px 24px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
header .meta { opacity: .8; font-size: 13px; }
nav { position: sticky; top: 0; z-index: 5; background: #fff; border-bottom: 1px solid #dde1e6;
  padding: 6px 24px; font-size: 13px; }
nav a { margin-right: 14px; color: #2357a4; text-decoration: none; }
.nav-toggle { display: none; }
section { scroll-margin-top: 44px; }
main { padding: 12px 24px 40px; }
section { background: #fff; border: 1px solid #dde1e6; border-radius: 6px; margin: 14px 0;
  padding: 10px 16px; }
section h2 { font-size: 17px; margin: 4px 0 8px; }
ul.notes { margin: 4px 0 8px; padding-left: 18px; color: #6b5300; font-size: 13px; }
ul.notes li::marker { content: "\\2139\\FE0F  "; }
p.hint { margin: 0 0 6px; color: #5b6570; font-size: 12.5px; }
dl.summary { display: grid; grid-template-columns: max-content auto; gap: 3px 16px; margin: 0; }
dl.summary dt { color: #5b6570; } dl.summary dd { margin: 0; }
.badge { display: inline-block; border-radius: 9px; padding: 0 7px; font-size: 11px; font-weight: 600;
  background: #e4e8ee; color: #333; vertical-align: 1px; }
.badge.status-finished { background: #dcebfa; color: #174a7c; }
.badge.status-pruned { background: #e6e6e6; color: #555; }
.badge.status-failed, .badge.status-killed { background: #fadcdc; color: #8a1c1c; }
.badge.status-running { background: #fdebd0; color: #7a4a00; }
.badge.overlap { background: #fff0c2; color: #6b5300; }
.table-wrap { overflow: auto; max-height: 70vh; border: 1px solid #e3e6ea; }
table { border-collapse: collapse; font-size: 12.5px; }
th, td { padding: 3px 8px; border-bottom: 1px solid #eceef1; text-align: left; white-space: nowrap; }
thead th { position: sticky; top: 0; background: #f0f2f5; }
thead tr:first-child th { top: 0; } thead tr + tr th { top: 22px; cursor: pointer; user-select: none; }
th.group { text-align: center; color: #5b6570; font-weight: 500; border-left: 1px solid #dde1e6; }
th.param { color: #264d80; }
th[aria-sort="ascending"]::after { content: " \\25B2"; }
th[aria-sort="descending"]::after { content: " \\25BC"; }
td[data-v] { font-variant-numeric: tabular-nums; }
td.objective { font-weight: 600; }
tr.row-pruned td { color: #7a7a7a; } tr.row-failed td, tr.row-killed td { color: #9b2c2c; }
tr.row-failed, tr.row-killed { background: #fff6f6; }
tbody tr:hover { background: #f3f7ff; }
code.rid { color: #8a939c; font-size: 11px; }
.filter { margin: 0 0 8px; } .filter input { width: 340px; padding: 4px 8px; font: inherit; }
.filter .count { color: #5b6570; margin-left: 10px; }
table.comparison tr.section th { background: #f0f2f5; text-transform: uppercase; font-size: 11px; }
table.comparison tr.differs td, table.comparison tr.differs th { background: #fff4d6; }
table.comparison.only-differs tr.same { display: none; }
tr.overlaps td { background: #fffbea; }
ul.failures { padding-left: 18px; } ul.failures details { display: inline; }
ul.failures summary { display: inline; cursor: pointer; color: #8a1c1c; }
pre { background: #f4f5f7; padding: 8px; overflow: auto; max-height: 420px; font-size: 12px; }
.figure { width: 100%; min-height: 200px; }
/* A phone: the nav folds into one "Sections" line that opens a list; less padding everywhere. */
@media (max-width: 700px) {
  header { padding: 10px 12px; } header h1 { font-size: 18px; } header .meta { font-size: 12px; }
  nav { padding: 2px 12px; }
  input.nav-toggle { display: block; position: absolute; opacity: 0; width: 1px; height: 1px; }
  label.nav-toggle { display: block; padding: 8px 0; font-weight: 600; color: #2357a4; cursor: pointer; }
  label.nav-toggle::before { content: "\\2630\\00a0\\00a0"; }
  input.nav-toggle:focus-visible + label { outline: 2px solid #2357a4; }
  input.nav-toggle:checked + label::before { content: "\\2715\\00a0\\00a0"; }
  .nav-links { display: none; padding: 0 0 6px; }
  input.nav-toggle:checked ~ .nav-links { display: grid; grid-template-columns: 1fr 1fr; gap: 2px 12px; }
  .nav-links a { padding: 5px 0; }
  main { padding: 4px 6px 30px; }
  section { padding: 8px 8px; margin: 10px 0; }
  .filter input { width: 100%; box-sizing: border-box; }
  .filter .count { display: block; margin: 4px 0 0; }
  .figure-wrap { overflow-x: auto; }
  table.comparison tbody th { position: sticky; left: 0; background: #fff; }
}
"""

ERRORS_JS = """
window.reportErrors = [];
window.addEventListener("error", function (e) { window.reportErrors.push(String(e.message)); });
window.addEventListener("unhandledrejection", function (e) {
  window.reportErrors.push("unhandled rejection: " + String(e.reason));
});
(function () {
  var original = console.error;
  console.error = function () {
    window.reportErrors.push(Array.prototype.map.call(arguments, String).join(" "));
    return original.apply(console, arguments);
  };
})();
"""

PAGE_JS = """
(function () {
  var block = JSON.parse(document.getElementById("report-figures").textContent);
  var config = {responsive: true, displaylogo: false};
  var narrow = window.matchMedia("(max-width: 700px)").matches;
  // A legend under the plot that needs more lines than it was given (many runs on a narrow
  // screen) would scroll and squash the plot: the figure grows by the legend's height instead.
  function fitLegend(div) {
    var legend = div.querySelector("g.legend"), box = legend && legend.querySelector(".scrollbox");
    if (!box) { return div; }
    var needed = box.getBBox().height;
    if (needed < 0.15 * div._fullLayout.height) { return div; }
    return Plotly.relayout(div, {height: div._fullLayout.height + needed, "legend.maxheight": needed + 10});
  }
  var drawn = Object.keys(block.figures).map(function (id) {
    var figure = block.figures[id];
    figure.layout.template = block.template;
    figure.data.forEach(function (trace) {
      if (narrow && trace.type === "parcoords") { trace.labelangle = -30; }  // labels would overlap
    });
    return Plotly.newPlot(id, figure.data, figure.layout, config).then(fitLegend);
  });
  Promise.all(drawn).then(function () { document.body.dataset.figures = "drawn"; }, function (err) {
    window.reportErrors.push("figure: " + String(err));
    document.body.dataset.figures = "failed";
  });

  function key(row, col) {
    var cell = row.cells[col];
    return cell.hasAttribute("data-v") ? cell.getAttribute("data-v") : cell.textContent.trim();
  }
  function sortBy(table, th, col) {
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    Array.prototype.forEach.call(th.parentNode.cells, function (other) {
      other.removeAttribute("aria-sort");
    });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var keys = rows.map(function (row) { return key(row, col); });
    var numeric = keys.every(function (k) { return k === "" || !isNaN(Number(k)); });
    var order = rows.map(function (row, i) { return i; });
    order.sort(function (a, b) {
      var x = keys[a], y = keys[b];
      if (x === "" || y === "") { return (x === "") - (y === ""); }
      var c = numeric ? Number(x) - Number(y) : x.localeCompare(y, undefined, {numeric: true});
      return ascending ? c : -c;
    });
    order.forEach(function (i) { body.appendChild(rows[i]); });
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var head = table.tHead.rows[table.tHead.rows.length - 1];
    Array.prototype.forEach.call(head.cells, function (th, col) {
      th.addEventListener("click", function () { sortBy(table, th, col); });
      th.addEventListener("keydown", function (e) { if (e.key === "Enter") { sortBy(table, th, col); } });
    });
  });

  var filter = document.getElementById("leaderboard-filter");
  if (filter) {
    var rows = Array.prototype.slice.call(document.getElementById("leaderboard").tBodies[0].rows);
    var texts = rows.map(function (row) { return row.textContent.toLowerCase(); });
    var count = document.getElementById("leaderboard-count");
    filter.addEventListener("input", function () {
      var terms = filter.value.toLowerCase().split(/\\s+/).filter(Boolean);
      var shown = 0;
      rows.forEach(function (row, i) {
        row.hidden = !terms.every(function (t) { return texts[i].indexOf(t) >= 0; });
        shown += row.hidden ? 0 : 1;
      });
      count.textContent = shown + " of " + rows.length + " runs";
    });
  }
  var toggle = document.getElementById("nav-toggle");
  document.querySelectorAll(".nav-links a").forEach(function (a) {
    a.addEventListener("click", function () { toggle.checked = false; });  // fold the phone menu
  });
  var differs = document.getElementById("only-differs");
  if (differs) {
    differs.addEventListener("change", function () {
      document.getElementById("comparison").classList.toggle("only-differs", differs.checked);
    });
  }
})();
"""
