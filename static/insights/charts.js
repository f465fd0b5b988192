/* Draws the insights charts with the vendored Chart.js. No inline script: the data comes from
   json_script elements named by each canvas's data-insights-source attribute. */
(function () {
  "use strict";

  var PALETTE = ["#2450c8", "#e8743b", "#19a979", "#ed4a7b", "#945ecf", "#13a4b4", "#525df4",
                 "#bf399e", "#6c8893", "#ee6868", "#2f6497", "#c9a400"];
  var reduceMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  function colours(n) {
    var out = [];
    for (var i = 0; i < n; i++) out.push(PALETTE[i % PALETTE.length]);
    return out;
  }

  function labelsOf(spec) {
    return spec.rows.map(function (r) { return String(r[spec.x]); });
  }

  function shareChart(spec) {
    var values = spec.rows.map(function (r) { return r.count; });
    return {
      type: "doughnut",
      data: {labels: labelsOf(spec), datasets: [{label: "count", data: values, backgroundColor: colours(values.length)}]},
      options: {plugins: {legend: {position: "right"}}}
    };
  }

  function barChart(spec) {
    var horizontal = spec.rows.length > 6;
    return {
      type: "bar",
      data: {
        labels: labelsOf(spec),
        datasets: spec.y.map(function (column, i) {
          return {label: column.replace(/_/g, " "), data: spec.rows.map(function (r) { return r[column]; }),
                  backgroundColor: PALETTE[i % PALETTE.length]};
        })
      },
      options: {
        indexAxis: horizontal ? "y" : "x",
        plugins: {legend: {display: spec.y.length > 1}},
        scales: (function () {
          // parts of one whole: yes / no / unknown datasets; an uploader's models + datasets
          var stacked = spec.x === "criterion" || spec.x === "user";
          var value = {beginAtZero: true, stacked: stacked, ticks: {precision: 0}};
          var label = {stacked: stacked, ticks: {autoSkip: false}};
          return horizontal ? {x: value, y: label} : {x: label, y: value};
        })()
      }
    };
  }

  function histogram(spec) {
    return {
      type: "bar",
      data: {labels: labelsOf(spec), datasets: [{label: "count", data: spec.rows.map(function (r) { return r.count; }),
              backgroundColor: PALETTE[0], categoryPercentage: 1.0, barPercentage: 0.98}]},
      options: {plugins: {legend: {display: false}},
                scales: {x: {title: {display: true, text: "log-scale bins"}}, y: {beginAtZero: true, ticks: {precision: 0}}}}
    };
  }

  function lineChart(spec) {
    return {
      type: "line",
      data: {
        labels: labelsOf(spec),
        datasets: spec.y.map(function (column, i) {
          return {label: column, data: spec.rows.map(function (r) { return r[column]; }),
                  borderColor: PALETTE[i % PALETTE.length], backgroundColor: PALETTE[i % PALETTE.length],
                  pointRadius: spec.rows.length > 40 ? 0 : 3, tension: 0.2,
                  yAxisID: column === "cumulative" ? "y2" : "y"};
        })
      },
      options: {
        interaction: {mode: "index", intersect: false},
        scales: spec.y.indexOf("cumulative") >= 0
          ? {y: {position: "left"}, y2: {position: "right", grid: {drawOnChartArea: false}}} : {}
      }
    };
  }

  function heatmap(spec) {
    var tasks = [], media = [], max = 0;
    spec.rows.forEach(function (r) {
      if (tasks.indexOf(r.task) < 0) tasks.push(r.task);
      if (media.indexOf(r.media) < 0) media.push(r.media);
      if (r.count > max) max = r.count;
    });
    tasks.sort(); media.sort();
    return {
      type: "matrix",
      data: {datasets: [{
        label: "count",
        data: spec.rows.map(function (r) { return {x: r.task, y: r.media, v: r.count}; }),
        backgroundColor: function (ctx) {
          var v = ctx.raw ? ctx.raw.v : 0;
          return "rgba(36, 80, 200, " + (0.08 + 0.92 * (max ? v / max : 0)).toFixed(3) + ")";
        },
        borderColor: "#fff", borderWidth: 1,
        width: function (ctx) { var a = ctx.chart.chartArea; return a ? a.width / tasks.length - 1 : 0; },
        height: function (ctx) { var a = ctx.chart.chartArea; return a ? a.height / media.length - 1 : 0; }
      }]},
      options: {
        plugins: {legend: {display: false}, tooltip: {callbacks: {
          title: function () { return ""; },
          label: function (ctx) { return ctx.raw.y + " × " + ctx.raw.x + ": " + ctx.raw.v; }
        }}},
        scales: {
          x: {type: "category", labels: tasks, offset: true, grid: {display: false}, ticks: {autoSkip: false, maxRotation: 70}},
          y: {type: "category", labels: media, offset: true, reverse: true, grid: {display: false}}
        }
      }
    };
  }

  var BUILDERS = {pie: shareChart, bar: barChart, histogram: histogram, line: lineChart, heatmap: heatmap};

  function draw(canvas, data) {
    var spec = data[canvas.getAttribute("data-insights-stat")];
    if (!spec || !spec.rows || !spec.rows.length || !BUILDERS[spec.chart]) return;
    if (spec.chart === "heatmap" && !(window.Chart && Chart.registry.controllers.get("matrix"))) return;
    var config = BUILDERS[spec.chart](spec);
    config.options = config.options || {};
    config.options.responsive = true;
    config.options.maintainAspectRatio = false;
    if (reduceMotion) config.options.animation = false;
    canvas.chart = new Chart(canvas, config);
  }

  function start() {
    if (!window.Chart) return;
    var sources = {};
    document.querySelectorAll("canvas[data-insights-stat]").forEach(function (canvas) {
      var id = canvas.getAttribute("data-insights-source");
      if (!(id in sources)) {
        var node = document.getElementById(id);
        sources[id] = node ? JSON.parse(node.textContent) : {};
      }
      if (!Chart.getChart(canvas)) draw(canvas, sources[id]);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
