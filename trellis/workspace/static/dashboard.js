/* The dashboard's trend charts: the page puts each chart's data in
   <script type="application/json" id="dashboard-charts"> (no inline script under the CSP);
   each <div class="chart" data-chart="NAME"> gets a line chart of it, drawn by the vendored
   ECharts. A point opens the records behind that period's figure. */
(function () {
  "use strict";
  var source = document.getElementById("dashboard-charts");
  if (!source || typeof echarts === "undefined") { return; }
  var charts = JSON.parse(source.textContent);
  var drawn = [];

  function shown(format, value) {
    if (value === null || value === undefined) { return "—"; }
    if (format === "percent") { return value.toFixed(1) + "%"; }
    return value.toLocaleString(undefined, {maximumFractionDigits: 2});
  }

  document.querySelectorAll(".chart[data-chart]").forEach(function (element) {
    var data = charts[element.getAttribute("data-chart")];
    if (!data) { return; }
    var chart = echarts.init(element, null, {renderer: "canvas"});
    chart.setOption({
      animation: false,
      grid: {left: 48, right: 12, top: 16, bottom: 24},
      // drawn on the canvas: an HTML tooltip would carry style attributes, which the CSP refuses
      tooltip: {trigger: "axis", renderMode: "richText", valueFormatter: function (v) { return shown(data.format, v); }},
      xAxis: {type: "category", data: data.labels, axisLabel: {fontSize: 10}},
      yAxis: {type: "value", axisLabel: {fontSize: 10, formatter: function (v) { return shown(data.format, v); }}},
      series: [{
        type: "line", data: data.values, connectNulls: false, symbolSize: 7,
        lineStyle: {width: 2, color: "#0b4f6c"}, itemStyle: {color: "#0b4f6c"},
        markPoint: data.values[data.current] === null ? undefined : {
          symbol: "circle", symbolSize: 12, itemStyle: {color: "#f0b429"}, silent: true,
          data: [{coord: [data.current, data.values[data.current]]}], label: {show: false}
        }
      }]
    });
    chart.on("click", function (event) {
      var link = data.links[event.dataIndex];
      if (event.componentType === "series" && link) { window.location.href = link; }
    });
    element.setAttribute("data-drawn", "1");
    drawn.push(chart);
  });
  window.addEventListener("resize", function () { drawn.forEach(function (c) { c.resize(); }); });
}());
