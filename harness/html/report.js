/* Draws the report's charts with uPlot from the chart specs in #chart-data (harness/plots.py
   says what each spec holds). Every figure[data-chart] gets data-drawn="1" once its chart
   is drawn; a chart that fails says so in its figure and on the console. */
(function () {
  "use strict";
  var PALETTE = ["#1f6fb4", "#e6730f", "#2a9d3a", "#c9302c", "#7b4fb0", "#8c564b",
                 "#d4529b", "#6f6f6f"];
  var EVENTS = {
    drop: ["#c9302c", "drop"], underrun: ["#7b4fb0", "underrun"],
    overflow: ["#8c564b", "overflow"], throttle_start: ["#e6730f", "throttle start"],
    throttle_end: ["#2a9d3a", "throttle end"], timeout: ["#d4529b", "put timeout"],
    close: ["#222222", "close"]
  };
  var FAULT_FILL = "rgba(201, 48, 44, 0.10)";

  function colour(group, alpha) {
    var hex = PALETTE[group % PALETTE.length];
    if (alpha === undefined) { return hex; }
    var n = parseInt(hex.slice(1), 16);
    return "rgba(" + (n >> 16) + "," + ((n >> 8) & 255) + "," + (n & 255) + "," + alpha + ")";
  }

  function fmt(v, unit) {
    if (v === null || v === undefined) { return "–"; }
    var a = Math.abs(v), s;
    if (a >= 1e6) { s = (v / 1e6).toFixed(2) + "M"; }
    else if (a >= 1e4) { s = Math.round(v).toLocaleString("en"); }
    else if (a >= 100) { s = v.toFixed(0); }
    else if (a >= 1) { s = v.toFixed(2); }
    else if (a === 0) { s = "0"; }
    else { s = v.toPrecision(3); }
    return unit ? s + " " + unit : s;
  }

  function tickText(v) {
    if (v === null || v === undefined) { return ""; }
    if (Math.abs(v) >= 1000) { return Math.round(v).toLocaleString("en"); }
    return String(+v.toPrecision(3));
  }

  function percentileOf(x) {
    if (x === null || x === undefined) { return "–"; }
    var p = 100 * (1 - 1 / x);
    var digits = x >= 1e4 ? 3 : x >= 1e3 ? 2 : x >= 100 ? 1 : 0;
    return p.toFixed(Math.min(digits + 1, 4)).replace(/\.?0+$/, "") + " %";
  }

  function seriesOpts(spec, s) {
    var o = {label: s.label, stroke: colour(s.group), width: 1.5, spanGaps: !!s.span,
             value: function (u, v) { return fmt(v, spec.y.unit); }};
    if (s.style === "dash") { o.dash = [6, 4]; o.width = 1.2; }
    if (s.style === "step") { o.paths = uPlot.paths.stepped({align: 1}); }
    if (s.style === "band") { o.stroke = colour(s.group, 0.35); o.width = 0.5; }
    if (s.style === "line-dots") {
      o.points = {show: true, size: 6, width: 1.5, stroke: colour(s.group),
                  fill: colour(s.group)};
      return o;
    }
    if (s.style === "dots" || s.style === "dots-hollow") {
      o.paths = function () { return null; };
      o.points = {show: true, size: 9, width: 2, stroke: colour(s.group),
                  fill: s.style === "dots" ? colour(s.group) : "#ffffff"};
    } else {
      // a line needs two points: a lone value is drawn as a dot instead of nothing
      var present = s.values.filter(function (v) { return v !== null; }).length;
      o.points = present < 2 ? {show: true, size: 7, stroke: o.stroke, fill: o.stroke}
                             : {show: false};
    }
    return o;
  }

  function tickAxis(ticks) {
    return {
      filter: function (u, splits) { return splits; },
      splits: function () { return ticks.map(function (t) { return t[0]; }); },
      values: function (u, splits) {
        return splits.map(function (v) {
          for (var i = 0; i < ticks.length; i++) {
            if (Math.abs(ticks[i][0] - v) < 1e-6 * Math.max(1, v)) { return ticks[i][1]; }
          }
          return "";
        });
      }
    };
  }

  function drawFaults(spec) {
    return function (u) {
      if (!spec.faults.length) { return; }
      var ctx = u.ctx, top = u.bbox.top, height = u.bbox.height;
      ctx.save();
      spec.faults.forEach(function (f) {
        var x0 = u.valToPos(f.start_ms / 1000, "x", true);
        var x1 = u.valToPos(f.end_ms / 1000, "x", true);
        ctx.fillStyle = FAULT_FILL;
        ctx.fillRect(x0, top, Math.max(1, x1 - x0), height);
      });
      ctx.restore();
    };
  }

  function drawMarks(spec) {
    return function (u) {
      var ctx = u.ctx, dpr = window.devicePixelRatio || 1;
      ctx.save();
      ctx.textAlign = "left";
      ctx.textBaseline = "bottom";
      spec.faults.forEach(function (f) {
        var x0 = u.valToPos(f.start_ms / 1000, "x", true);
        ctx.fillStyle = "rgba(160, 30, 28, 0.9)";
        ctx.font = (11 * dpr) + "px sans-serif";
        ctx.fillText(f.label, x0 + 3 * dpr, u.bbox.top + u.bbox.height - 3 * dpr);
      });
      (spec.marks || []).forEach(function (m) {
        var x = u.valToPos(m[0], "x", true);
        ctx.strokeStyle = "rgba(60,60,60,0.8)";
        ctx.setLineDash([4 * dpr, 3 * dpr]);
        ctx.lineWidth = dpr;
        ctx.beginPath();
        ctx.moveTo(x, u.bbox.top);
        ctx.lineTo(x, u.bbox.top + u.bbox.height);
        ctx.stroke();
        ctx.setLineDash([]);
        ctx.fillStyle = "rgba(60,60,60,0.95)";
        ctx.font = (11 * dpr) + "px sans-serif";
        ctx.textBaseline = "top";
        ctx.fillText(m[1], x + 3 * dpr, u.bbox.top + 2 * dpr);
        ctx.textBaseline = "bottom";
      });
      var kinds = Object.keys(EVENTS).filter(function (k) {
        return spec.events.some(function (e) { return e[0] === k; });
      });
      spec.events.forEach(function (e) {
        var row = Math.max(0, kinds.indexOf(e[0]));
        var x = u.valToPos(e[1], "x", true);
        var y = u.bbox.top + (2 + row * 6) * dpr;
        var size = 3.5 * dpr;
        ctx.fillStyle = (EVENTS[e[0]] || ["#444"])[0];
        ctx.beginPath();
        ctx.moveTo(x - size, y);
        ctx.lineTo(x + size, y);
        ctx.lineTo(x, y + 1.6 * size);
        ctx.closePath();
        ctx.fill();
      });
      ctx.restore();
    };
  }

  function eventLegend(spec, figure) {
    if (!spec.events.length && !spec.faults.length) { return; }
    var totals = {};
    spec.events.forEach(function (e) { totals[e[0]] = (totals[e[0]] || 0) + e[2]; });
    var p = document.createElement("div");
    p.className = "marks";
    Object.keys(EVENTS).forEach(function (kind) {
      if (!totals[kind]) { return; }
      var span = document.createElement("span");
      var sw = document.createElement("i");
      sw.className = "tri";
      sw.style.borderTopColor = EVENTS[kind][0];
      span.appendChild(sw);
      span.appendChild(document.createTextNode(EVENTS[kind][1] + " × " + totals[kind]));
      p.appendChild(span);
    });
    spec.faults.forEach(function (f) {
      var span = document.createElement("span");
      var sw = document.createElement("i");
      sw.className = "fault";
      span.appendChild(sw);
      span.appendChild(document.createTextNode("fault: " + f.label + " (" +
        fmt(f.start_ms / 1000) + "–" + fmt(f.end_ms / 1000) + " s)"));
      p.appendChild(span);
    });
    figure.appendChild(p);
  }

  function options(spec, width) {
    var grid = {stroke: "rgba(0,0,0,0.07)", width: 1};
    var xAxis = {label: spec.x.label, size: 40, grid: grid};
    var scales = {x: {time: false}, y: {}};
    if (spec.kind === "spectrum") {
      scales.x.distr = 3;
      scales.x.log = 10;
      Object.assign(xAxis, tickAxis(spec.ticks));
    } else if (spec.kind === "dots") {
      var n = spec.ticks.length;
      scales.x.range = function () { return [-0.5, n - 0.5]; };
      Object.assign(xAxis, tickAxis(spec.ticks));
    }
    if (spec.y.log) { scales.y.distr = 3; scales.y.log = 10; }
    var yAxis = {label: spec.y.label, size: 60, grid: grid,
                 values: function (u, splits) { return splits.map(tickText); }};
    var series = [{
      label: spec.kind === "spectrum" ? "percentile"
        : spec.kind === "dots" ? (spec.x.label || "scenario")
        : spec.kind === "curve" ? "offered" : "s",
      value: function (u, v) {
        if (spec.kind === "spectrum") { return percentileOf(v); }
        if (spec.kind === "curve") { return fmt(v, "/s"); }
        if (spec.kind === "dots") {
          var t = spec.ticks[Math.round(v)];
          return v === null || v === undefined || !t ? "–" : t[1];
        }
        return v === null || v === undefined ? "–" : v.toFixed(3) + " s";
      }
    }].concat(spec.series.map(function (s) { return seriesOpts(spec, s); }));
    var bands = spec.bands.map(function (b) {
      return {series: [b[0] + 1, b[1] + 1], fill: colour(spec.series[b[0]].group, 0.16)};
    });
    var opts = {
      width: width, height: 240, scales: scales, series: series, bands: bands,
      axes: [xAxis, yAxis], legend: {live: true},
      cursor: spec.kind === "time" ? {sync: {key: spec.id.split("-").slice(0, 2).join("-")}}
                                   : {},
      hooks: {drawClear: [drawFaults(spec)], draw: [drawMarks(spec)]}
    };
    return opts;
  }

  function draw(spec, figure) {
    var data = [spec.xs].concat(spec.series.map(function (s) { return s.values; }));
    var width = Math.max(320, Math.floor(figure.clientWidth || 600) - 8);
    var plot = new uPlot(options(spec, width), data, figure);
    // a band's lower edge has no legend entry of its own: its line's entry stands for both
    var entries = plot.root.querySelectorAll(".u-legend .u-series");
    spec.series.forEach(function (s, i) {
      if (s.style === "band" && entries[i + 1]) { entries[i + 1].style.display = "none"; }
    });
    eventLegend(spec, figure);
    figure.setAttribute("data-drawn", "1");
    return plot;
  }

  function main() {
    var node = document.getElementById("chart-data");
    var specs = node ? JSON.parse(node.textContent) : [];
    var plots = [];
    specs.forEach(function (spec) {
      var figure = document.querySelector('figure[data-chart="' + spec.id + '"]');
      if (!figure) { console.error("no figure for chart " + spec.id); return; }
      try {
        plots.push([draw(spec, figure), figure]);
      } catch (err) {
        figure.setAttribute("data-drawn", "0");
        var p = document.createElement("p");
        p.className = "chart-error";
        p.textContent = "This chart could not be drawn: " + err;
        figure.appendChild(p);
        console.error("chart " + spec.id + ": " + err);
      }
    });
    var pending = null;
    window.addEventListener("resize", function () {
      clearTimeout(pending);
      pending = setTimeout(function () {
        plots.forEach(function (pf) {
          pf[0].setSize({width: Math.max(320, Math.floor(pf[1].clientWidth) - 8),
                         height: 240});
        });
      }, 100);
    });
    document.body.setAttribute("data-charts", String(specs.length));
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", main);
  } else {
    main();
  }
})();
