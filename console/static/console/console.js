// Tern console behaviours. No inline script anywhere (CSP): pages carry data in attributes and in
// <script type="application/json"> blocks, and this file wires them up, also after htmx swaps.
(function () {
  "use strict";

  function chartOptions(spec) {
    return {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      scales: spec.stacked ? { x: { stacked: true }, y: { stacked: true, beginAtZero: true } }
                           : { y: { beginAtZero: true } },
      plugins: { legend: { display: (spec.datasets || []).length > 1 } }
    };
  }

  // A chart whose data a poll swapped in (the Campaign page's delivery over time) is updated in
  // place: the canvas and its Chart stay, only labels and numbers change.
  function updateChart(chart, spec) {
    chart.data.labels = spec.labels;
    (spec.datasets || []).forEach(function (set, i) {
      if (chart.data.datasets[i]) chart.data.datasets[i].data = set.data;
      else chart.data.datasets.push(set);
    });
    chart.update();
  }

  function renderCharts(root) {
    if (typeof window.Chart === "undefined") return;
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var source = document.getElementById(canvas.dataset.chart);
      // A <script type="application/json">, or (swapped in by a poll) an element's data-spec.
      var text = source && (source.tagName === "SCRIPT" ? source.textContent : source.dataset.spec);
      if (!text || text === canvas.ternDrawn) return;
      var spec = JSON.parse(text);
      var frame = canvas.closest(".chart");
      if (frame && frame.hidden) {
        if (!(spec.labels || []).length) return;  // nothing to draw yet: it stays hidden
        frame.hidden = false;
      }
      canvas.ternDrawn = text;
      var chart = window.Chart.getChart(canvas);
      if (chart) return updateChart(chart, spec);
      canvas.dataset.rendered = "1";
      new window.Chart(canvas, { type: spec.type || "bar", data: { labels: spec.labels, datasets: spec.datasets }, options: chartOptions(spec) });
    });
  }

  function closeConfirmOnEscape(event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details.confirm[open]").forEach(function (d) { d.open = false; });
  }

  document.addEventListener("DOMContentLoaded", function () { renderCharts(document); });
  // The whole page: a poll's data may arrive out of band, outside the swapped element.
  document.addEventListener("htmx:afterSwap", function () { renderCharts(document); });
  document.addEventListener("keydown", closeConfirmOnEscape);
})();
