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

  // Human labels ("CNN", "No media type") for the keys the statistics group by.
  function labelOf(spec, value) {
    var labels = spec.labels || {};
    return Object.prototype.hasOwnProperty.call(labels, value) ? labels[value] : String(value);
  }

  function labelsOf(spec) {
    return spec.rows.map(function (r) { return labelOf(spec, r[spec.x]); });
  }

  function seriesName(spec, column) {
    return (spec.series && spec.series[column]) || column.replace(/_/g, " ");
  }

  // Long category labels are shortened on the axis (the tooltip and the table keep them whole).
  function shortLabel(text, max) {
    text = String(text);
    return text.length > max ? text.slice(0, max - 1) + "…" : text;
  }

  function categoryTicks(max) {
    return {autoSkip: false, callback: function (value) { return shortLabel(this.getLabelForValue(value), max); }};
  }

  function shortLegend(chart) {
    var items = Chart.overrides.doughnut.plugins.legend.labels.generateLabels(chart);
    items.forEach(function (item) { item.text = shortLabel(item.text, 28); });
    return items;
  }

  function shareChart(spec) {
    var values = spec.rows.map(function (r) { return r.count; });
    return {
      type: "doughnut",
      data: {labels: labelsOf(spec), datasets: [{label: "count", data: values, backgroundColor: colours(values.length)}]},
      options: {plugins: {legend: {position: spec.rows.length > 8 ? "bottom" : "right",
                                   labels: {boxWidth: 12, generateLabels: shortLegend}}}}
    };
  }

  function barChart(spec) {
    var horizontal = spec.rows.length > 6;
    return {
      type: "bar",
      data: {
        labels: labelsOf(spec),
        datasets: spec.y.map(function (column, i) {
          return {label: seriesName(spec, column), data: spec.rows.map(function (r) { return r[column]; }),
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
          var label = {stacked: stacked, ticks: categoryTicks(horizontal ? 28 : 16)};
          if (!horizontal) { label.ticks.maxRotation = 60; label.ticks.minRotation = 0; }
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

  // Whole years on the axis: the years with nothing are drawn as zeros, so the axis is even.
  function everyYear(spec) {
    if (spec.x !== "year" || !spec.rows.length) return spec;
    var byYear = {}, first = Infinity, last = -Infinity;
    spec.rows.forEach(function (r) { byYear[r.year] = r; first = Math.min(first, r.year); last = Math.max(last, r.year); });
    var rows = [];
    for (var y = first; y <= last; y++) {
      var row = byYear[y] || {year: y};
      spec.y.forEach(function (column) { if (row[column] === undefined) row[column] = 0; });
      rows.push(row);
    }
    return Object.assign({}, spec, {rows: rows});
  }

  function lineChart(spec) {
    spec = everyYear(spec);
    return {
      type: "line",
      data: {
        labels: labelsOf(spec),
        datasets: spec.y.map(function (column, i) {
          return {label: seriesName(spec, column), data: spec.rows.map(function (r) { return r[column]; }),
                  borderColor: PALETTE[i % PALETTE.length], backgroundColor: PALETTE[i % PALETTE.length],
                  pointRadius: spec.rows.length > 40 ? 0 : 3, tension: 0.2,
                  yAxisID: column === "cumulative" ? "y2" : "y"};
        })
      },
      options: {
        interaction: {mode: "index", intersect: false},
        // labels are strings ("2003", "2024 Q1"): never formatted as numbers ("2,003")
        scales: Object.assign(
          {x: {ticks: {autoSkip: true, maxRotation: 0, autoSkipPadding: 12}},
           y: {position: "left", beginAtZero: true, ticks: {precision: 0},
               title: {display: true, text: seriesName(spec, spec.y[0])}}},
          spec.y.indexOf("cumulative") >= 0
            ? {y2: {position: "right", beginAtZero: true, ticks: {precision: 0}, grid: {drawOnChartArea: false},
                    title: {display: true, text: seriesName(spec, "cumulative")}}} : {})
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
          label: function (ctx) { return labelOf(spec, ctx.raw.y) + " × " + ctx.raw.x + ": " + ctx.raw.v; }
        }}},
        scales: {
          x: {type: "category", labels: tasks, offset: true, grid: {display: false}, ticks: {autoSkip: false, maxRotation: 70}},
          y: {type: "category", labels: media, offset: true, reverse: true, grid: {display: false},
              ticks: {callback: function (value) { return labelOf(spec, this.getLabelForValue(value)); }}}
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
    if (config.options && config.options.indexAxis === "y" && canvas.parentNode) {
      // one readable row per bar: the box grows with the number of bars instead of squeezing them
      canvas.parentNode.style.height = Math.max(300, 22 * spec.rows.length + 60) + "px";
    }
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
