/* sweeptrack dashboard: the behaviour of its pages, in plain JavaScript (no build step).
   Every text from the server is set with textContent, never parsed as HTML. Edits send the
   page's CSRF token in X-CSRF-Token. Copyright the sweeptrack authors, Apache-2.0. */
(function () {
  'use strict';
  var CSRF = (document.querySelector('meta[name="csrf-token"]') || {}).content || '';
  var POLL_MS = 2000;
  var FIGURES_EVERY_MS = 5000;
  var TERMINAL = ['finished', 'stopped', 'failed', 'orphaned'];

  function byId(id) { return document.getElementById(id); }
  function data(id) { var el = byId(id); return el ? JSON.parse(el.textContent) : null; }
  function num(v) {
    if (v === 'nan') { return NaN; }
    if (v === 'inf') { return Infinity; }
    if (v === '-inf') { return -Infinity; }
    return v;
  }
  function fmt(v) {
    if (v === null || v === undefined) { return ''; }
    if (typeof v === 'number') { return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6))); }
    if (typeof v === 'object') { return JSON.stringify(v); }
    return String(v);
  }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  // Plotly reads a few tags in its text (<b>, <br>, links): user text is shown as text.
  function plain(text) { return String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'); }
  function api(method, url, body) {
    var options = { method: method, credentials: 'same-origin', headers: { 'X-CSRF-Token': CSRF } };
    if (body !== undefined) {
      options.headers['Content-Type'] = 'application/json';
      options.body = JSON.stringify(body);
    }
    return fetch(url, options).then(function (response) {
      return response.json().then(function (payload) {
        if (!response.ok) { throw new Error(payload.detail || response.statusText); }
        return payload;
      });
    });
  }
  var PLOT_CONFIG = { responsive: true, displaylogo: false };

  /* -- runs table ---------------------------------------------------------------------- */
  function runsPage() {
    document.querySelectorAll('[data-error-column]').forEach(function (input) {
      var column = Number(input.dataset.errorColumn) - 1;
      input.focus();
      input.setSelectionRange(column, Math.max(column + 1, input.value.length));
    });
    var boxes = document.querySelectorAll('.select-run');
    var button = byId('compare-button');
    function selected() {
      var count = Array.prototype.filter.call(boxes, function (b) { return b.checked; }).length;
      byId('selected-count').textContent = String(count);
      button.disabled = count < 2 || count > 20;
    }
    boxes.forEach(function (b) { b.addEventListener('change', selected); });
    if (button) { selected(); }
    var choices = document.querySelectorAll('.column-choice');
    var text = byId('columns-text');
    var value = byId('columns-value');
    choices.forEach(function (choice) {
      choice.addEventListener('change', function () {
        var names = text.value.split(',').map(function (s) { return s.trim(); }).filter(Boolean);
        names = names.filter(function (n) { return n !== choice.value; });
        if (choice.checked) { names.push(choice.value); }
        text.value = names.join(',');
        value.value = text.value;
      });
    });
    if (text) { text.addEventListener('input', function () { value.value = text.value; }); }
  }

  /* -- curves -------------------------------------------------------------------------- */
  function curveLayout(title) {
    return {
      // The title sits just above the plot area, under the mode bar (which shows at the top on hover).
      title: { text: plain(title), x: 0.01, xanchor: 'left', yref: 'paper', y: 1.02, yanchor: 'bottom' },
      height: 340, margin: { t: 64, r: 20, b: 40, l: 60 },
      xaxis: { title: { text: 'step' } }, showlegend: true, legend: { orientation: 'h' }
    };
  }
  function trace(series, name) {
    return { x: series.steps, y: series.values.map(num), name: plain(name), mode: 'lines', type: 'scattergl' };
  }
  function runPage() {
    var root = byId('run');
    var runId = root.dataset.runId;
    var curves = data('run-curves') || {};
    var holder = byId('curves');
    Object.keys(curves).forEach(function (key, index) {
      var series = curves[key];
      var div = el('div', { id: 'curve-' + index, 'class': 'curve', 'data-key': key });
      holder.appendChild(div);
      var note = series.downsampled ? ' (' + series.total + ' points, downsampled)' : '';
      var full = trace(series, key);
      div.dataset.title = key + note;
      Plotly.newPlot(div, [full], curveLayout(key + note), PLOT_CONFIG).then(function () {
        div.on('plotly_relayout', function (change) { zoom(div, runId, key, change, full); });
        div.dataset.drawn = 'true';
      });
    });
    editing(runId);
  }
  function zoom(div, runId, key, change, full) {
    if (change['xaxis.autorange']) {
      Plotly.restyle(div, { x: [full.x], y: [full.y] }, [0]);
      Plotly.relayout(div, { 'title.text': plain(div.dataset.title) });
      div.dataset.detail = 'overview';
      return;
    }
    var range = change['xaxis.range'] || [change['xaxis.range[0]'], change['xaxis.range[1]']];
    var start = range[0];
    var end = range[1];
    if (start === undefined || end === undefined) { return; }
    var url = '/api/runs/' + runId + '/metrics/' + encodeURIComponent(key) +
      '?start=' + Math.floor(start) + '&end=' + Math.ceil(end);
    api('GET', url).then(function (series) {
      Plotly.restyle(div, { x: [series.steps], y: [series.values.map(num)] }, [0]);
      var shown = series.downsampled ? ' downsampled' : ' at full detail';
      Plotly.relayout(div, { 'title.text': plain(key + ' (steps ' + Math.floor(start) + '-' + Math.ceil(end) + shown + ')') });
      div.dataset.detail = series.downsampled ? 'downsampled' : 'full';
      div.dataset.points = String(series.steps.length);
    });
  }

  /* -- edits --------------------------------------------------------------------------- */
  function editing(runId) {
    var base = '/api/runs/' + runId;
    var status = byId('edit-status');
    function done(promise) {
      promise.then(function () { window.location.reload(); }, function (error) {
        (status || byId('tags')).textContent = 'not saved: ' + error.message;
      });
    }
    function on(id, event, handler) {
      var node = byId(id);
      if (node) { node.addEventListener(event, function (e) { e.preventDefault(); handler(); }); }
    }
    on('tag-form', 'submit', function () {
      var body = {};
      body[byId('tag-key').value] = byId('tag-value').value;
      done(api('PUT', base + '/tags', body));
    });
    document.querySelectorAll('.untag').forEach(function (button) {
      button.addEventListener('click', function () {
        done(api('DELETE', base + '/tags/' + encodeURIComponent(button.dataset.key)));
      });
    });
    on('note-form', 'submit', function () { done(api('PUT', base + '/note', { note: byId('note').value })); });
    on('rename-form', 'submit', function () { done(api('PUT', base + '/name', { name: byId('rename').value })); });
    on('delete-run', 'click', function () { done(api('POST', base + '/delete')); });
    on('restore-run', 'click', function () { done(api('POST', base + '/restore')); });
  }

  /* -- sweep page ---------------------------------------------------------------------- */
  var shownBoard = null;
  function renderLive(live) {
    var state = byId('sweep-state');
    state.textContent = live.state;
    state.className = 'badge state-' + live.state;
    byId('progress-bar').style.width = ((live.progress || 0) * 100).toFixed(1) + '%';
    byId('progress-text').textContent = live.done + (live.cap ? ' of ' + live.cap : '') +
      ' trials done, ' + live.total + ' started';
    var counts = byId('counts');
    counts.textContent = '';
    Object.keys(live.counts).forEach(function (status) {
      counts.appendChild(el('span', { 'class': 'count status-' + status, 'data-status': status },
        live.counts[status] + ' ' + status));
      counts.appendChild(document.createTextNode(' '));
    });
    var board = JSON.stringify(live.leaderboard);
    if (board === shownBoard) { return; }  // rows a reader is about to click stay in place
    shownBoard = board;
    var body = document.querySelector('#leaderboard tbody');
    body.textContent = '';
    live.leaderboard.forEach(function (row) {
      var tr = el('tr', { 'data-run-id': row.id });
      tr.appendChild(el('td', {}, String(row.rank)));
      tr.appendChild(el('td', {}, row.trial === null ? '' : String(row.trial)));
      var name = el('td');
      name.appendChild(el('a', { href: '/runs/' + row.id }, row.name));
      tr.appendChild(name);
      tr.appendChild(el('td', { 'class': 'num' }, fmt(num(row.value))));
      var params = el('td', { 'class': 'params' });
      Object.keys(row.params).forEach(function (k) {
        params.appendChild(el('span', { 'class': 'kv' }, k + '=' + fmt(row.params[k])));
        params.appendChild(document.createTextNode(' '));
      });
      tr.appendChild(params);
      body.appendChild(tr);
    });
  }
  function loadFigures(sweepId) {
    return api('GET', '/sweeps/' + sweepId + '/figures.json').then(function (payload) {
      var template = payload.plotly.template;
      Object.keys(payload.panels).forEach(function (key) {
        var panel = payload.panels[key];
        var section = byId('section-' + key);
        section.querySelector('.figure-title').textContent = panel.title;
        var notes = section.querySelector('.notes');
        notes.textContent = '';
        panel.notes.concat(panel.hint ? [panel.hint] : []).forEach(function (n) { notes.appendChild(el('li', {}, n)); });
        var figure = payload.plotly.figures['fig-' + key];
        var div = byId('fig-' + key);
        if (figure) {
          figure.layout.template = template;
          Plotly.react(div, figure.data, figure.layout, PLOT_CONFIG);
          div.dataset.drawn = 'true';
        }
      });
      document.body.dataset.figures = 'drawn';
    });
  }
  function sweepPage() {
    var sweepId = byId('sweep').dataset.sweepId;
    var live = data('sweep-live');
    shownBoard = JSON.stringify(live.leaderboard);
    var figuresAt = Date.now();
    var figuresDone = live.done;
    loadFigures(sweepId);
    function poll() {
      api('GET', '/api/sweeps/' + sweepId + '/live').then(function (next) {
        renderLive(next);
        document.body.dataset.polls = String(Number(document.body.dataset.polls || 0) + 1);
        if (next.done !== figuresDone && Date.now() - figuresAt > FIGURES_EVERY_MS) {
          figuresAt = Date.now();
          figuresDone = next.done;
          loadFigures(sweepId);
        }
        var over = TERMINAL.indexOf(next.state) >= 0 && next.done === figuresDone && !next.counts.running;
        if (!over) { window.setTimeout(poll, POLL_MS); }
      }, function () { window.setTimeout(poll, POLL_MS * 5); });
    }
    window.setTimeout(poll, POLL_MS);
  }

  /* -- compare page -------------------------------------------------------------------- */
  function comparePage() {
    var toggle = byId('only-differs');
    toggle.addEventListener('change', function () {
      byId('comparison').classList.toggle('only-differs', toggle.checked);
    });
    var curves = data('compare-curves-data') || {};
    var holder = byId('curves');
    Object.keys(curves).forEach(function (key, index) {
      var div = el('div', { id: 'compare-curve-' + index, 'class': 'curve', 'data-key': key });
      holder.appendChild(div);
      var traces = curves[key].map(function (s) { return trace(s, s.name); });
      Plotly.newPlot(div, traces, curveLayout(key), PLOT_CONFIG).then(function () { div.dataset.drawn = 'true'; });
    });
  }

  var pages = { runs: runsPage, run: runPage, sweep: sweepPage, compare: comparePage };
  var page = pages[document.body.dataset.page];
  if (page) { page(); }
  document.body.dataset.ready = 'true';
})();
