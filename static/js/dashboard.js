// The dashboard's charts, drawn from the page's JSON (no inline script: CSP).
// Each canvas names its chart (data-chart); money axes read in CNY.
(function () {
  "use strict";
  const source = document.getElementById("dashboard-data");
  if (!source || !window.Chart) return;
  const charts = JSON.parse(source.textContent);
  const palette = ["#0d6efd", "#198754", "#ffc107", "#dc3545", "#6f42c1", "#20c997", "#fd7e14", "#6c757d", "#0dcaf0", "#d63384", "#adb5bd"];
  const money = new Intl.NumberFormat(document.documentElement.lang || undefined, { maximumFractionDigits: 0 });
  const base = { maintainAspectRatio: false, animation: false, interaction: { mode: "index", intersect: false } };

  function config(chart) {
    const series = chart.series;
    if (chart.kind === "doughnut") {
      return { type: "doughnut", data: { labels: chart.labels, datasets: [{ label: series[0].name, data: series[0].values, backgroundColor: palette }] }, options: { ...base, interaction: {} } };
    }
    if (chart.kind === "forecast") {
      return {
        data: {
          labels: chart.labels,
          datasets: [
            { type: "bar", label: series[0].name, data: series[0].values, backgroundColor: "rgba(13, 110, 253, 0.6)" },
            { type: "line", label: series[1].name, data: series[1].values, borderColor: "#198754", backgroundColor: "#198754", borderDash: [6, 4], spanGaps: true },
            { type: "line", label: series[2].name, data: series[2].values, borderColor: "#fd7e14", backgroundColor: "#fd7e14", borderDash: [2, 3], spanGaps: true },
          ],
        },
        options: { ...base, scales: { y: { beginAtZero: true, ticks: { callback: (v) => money.format(v) } } } },
      };
    }
    if (chart.key === "revenue") {
      return {
        data: {
          labels: chart.labels,
          datasets: [
            { type: "bar", label: series[0].name, data: series[0].values, yAxisID: "money", backgroundColor: "rgba(13, 110, 253, 0.6)" },
            { type: "line", label: series[1].name, data: series[1].values, yAxisID: "count", borderColor: "#fd7e14", backgroundColor: "#fd7e14" },
          ],
        },
        options: { ...base, scales: { money: { position: "left", beginAtZero: true, ticks: { callback: (v) => money.format(v) } }, count: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false } } } },
      };
    }
    const horizontal = chart.kind === "hbar";
    const stacked = chart.kind === "stacked";
    const colours = stacked ? ["#198754", "#ced4da"] : palette;
    return {
      type: "bar",
      data: { labels: chart.labels, datasets: series.map((s, i) => ({ label: s.name, data: s.values, backgroundColor: colours[i % colours.length] })) },
      options: {
        ...base,
        indexAxis: horizontal ? "y" : "x",
        plugins: { legend: { display: series.length > 1 } },
        scales: { x: { stacked, beginAtZero: true }, y: { stacked, beginAtZero: true } },
      },
    };
  }

  for (const chart of charts) {
    const canvas = document.querySelector(`canvas[data-chart="${chart.key}"]`);
    if (canvas) new window.Chart(canvas, config(chart));
  }
})();
