// The pace chart: an ECharts option built by the server (progress_view.pace_chart), drawn here.
(function () {
  function draw() {
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      if (el.dataset.drawn) return;
      var option = JSON.parse(document.getElementById(el.dataset.chart).textContent);
      var chart = echarts.init(el, null, {renderer: "svg"});
      chart.setOption(option);
      el.dataset.drawn = "1";
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw); else draw();
})();
