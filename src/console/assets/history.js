// The history page: draws the equity curve (cumulative realized P&L per trading day) with TradingView's
// lightweight-charts from the page's JSON data block. The same figures are in the page's tables, so
// without script nothing is lost. Values are decimal strings; Number() here is for drawing only.
(() => {
  function draw() {
    const box = document.getElementById("equity-chart");
    const data = document.getElementById("equity-data");
    const charts = window.LightweightCharts;
    if (!box || !data || !charts) return;
    const points = JSON.parse(data.textContent || "[]");
    if (!points.length) {
      box.classList.add("empty");
      box.textContent = "No closed trades in this range.";
      return;
    }
    const chart = charts.createChart(box, {
      autoSize: true,
      // The logo injects a <style> element the console's CSP refuses; the page credits TradingView in text.
      layout: { textColor: "#1a1a1a", background: { color: "#ffffff" }, attributionLogo: false },
      rightPriceScale: { borderColor: "#d0d0d0" },
      timeScale: { borderColor: "#d0d0d0" },
      localization: { priceFormatter: (v) => v.toFixed(2) },
    });
    const series = chart.addSeries(charts.BaselineSeries, {
      baseValue: { type: "price", price: 0 },
      topLineColor: "#0a6b2d",
      bottomLineColor: "#b3261e",
      lineWidth: 2,
      pointMarkersVisible: true,
    });
    series.setData(points.map((p) => ({ time: p.time, value: Number(p.value) })));
    chart.timeScale().fitContent();
    box.dataset.drawn = String(points.length);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
