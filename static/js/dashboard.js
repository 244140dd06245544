// The dashboard's charts, drawn from the figures the page holds as JSON (#dashboard-chart).
// Every chart has its table on the page too. No inline scripts: the CSP forbids them.
(function () {
  "use strict";
  var COLOURS = ["#0d6efd", "#198754", "#dc3545", "#6c757d"];

  function draw() {
    var source = document.getElementById("dashboard-chart");
    if (!source || typeof Chart === "undefined") return;
    var data = JSON.parse(source.textContent);
    var calls = document.getElementById("calls-chart");
    if (calls) {
      new Chart(calls, {
        type: "bar",
        data: {
          labels: data.labels,
          datasets: data.natures.map(function (label, n) {
            return { label: label, data: data.counts[n], backgroundColor: COLOURS[n] };
          }),
        },
        options: {
          animation: false,
          scales: {
            x: { stacked: true },
            y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } },
          },
        },
      });
    }
    [["urgency-chart", data.urgencies], ["mood-chart", data.moods]].forEach(function (pair) {
      var canvas = document.getElementById(pair[0]);
      var total = pair[1].reduce(function (sum, item) { return sum + item[1]; }, 0);
      if (!canvas || !total) return; // nothing to share out: the table says 0
      new Chart(canvas, {
        type: "doughnut",
        data: {
          labels: pair[1].map(function (item) { return item[0]; }),
          datasets: [{ data: pair[1].map(function (item) { return item[1]; }), backgroundColor: COLOURS }],
        },
        options: { animation: false, plugins: { legend: { position: "bottom" } } },
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
