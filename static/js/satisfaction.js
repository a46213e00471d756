// The satisfaction page's chart: CSAT and NPS per month (lines, left axis) and
// the responses (bars, right axis), from the page's JSON (no inline script: CSP).
(function () {
  "use strict";
  const source = document.getElementById("satisfaction-data");
  const canvas = document.getElementById("satisfaction-chart");
  if (!source || !canvas || !window.Chart) return;
  const data = JSON.parse(source.textContent);
  new window.Chart(canvas, {
    data: {
      labels: data.labels,
      datasets: [
        { type: "line", label: data.names.csat, data: data.csat, yAxisID: "score", borderColor: "#198754", backgroundColor: "#198754", spanGaps: true, tension: 0.2 },
        { type: "line", label: data.names.nps, data: data.nps, yAxisID: "score", borderColor: "#0d6efd", backgroundColor: "#0d6efd", spanGaps: true, tension: 0.2 },
        { type: "bar", label: data.names.responses, data: data.responses, yAxisID: "count", backgroundColor: "rgba(108, 117, 125, 0.25)" },
      ],
    },
    options: {
      maintainAspectRatio: false,
      animation: false,
      interaction: { mode: "index", intersect: false },
      scales: {
        score: { position: "left", min: -100, max: 100 },
        count: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false } },
      },
    },
  });
})();
