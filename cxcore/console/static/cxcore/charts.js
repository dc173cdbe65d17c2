/* Draws the console's charts with Apache ECharts from data the page embeds (json_script).
   Each chart has the same figures as a table next to it, for screen readers and without JS. */
(function () {
  "use strict";
  function draw(element) {
    if (!window.echarts) { return; }
    var source = document.getElementById(element.dataset.source);
    if (!source) { return; }
    var data = JSON.parse(source.textContent);
    var numbers = new Intl.NumberFormat(document.documentElement.lang || undefined);
    var chart = window.echarts.init(element, null, { renderer: "svg" });
    chart.setOption({
      grid: { left: 56, right: 16, top: 16, bottom: 40 },
      tooltip: { trigger: "axis", valueFormatter: function (v) { return numbers.format(v); } },
      xAxis: { type: "category", data: data.labels, axisLabel: { hideOverlap: true } },
      yAxis: { type: "value", axisLabel: { formatter: function (v) { return numbers.format(v); } } },
      series: [{ name: data.name, type: "bar", data: data.values, itemStyle: { color: "#0b5cad" } }],
      aria: { enabled: true },
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  function drawAll() {
    document.querySelectorAll("[data-chart]").forEach(draw);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
