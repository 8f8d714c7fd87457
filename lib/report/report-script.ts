/**
 * The report page's only script, inlined into the HTML: legend buttons show and hide runs in every chart, and
 * hovering a chart shows each visible curve's value nearest to the mouse. The charts are complete without it.
 */
export const REPORT_SCRIPT = `
(() => {
  const charts = JSON.parse(document.getElementById('chart-data').textContent);
  const hidden = new Set();
  const fmt = (v) => {
    const a = Math.abs(v);
    if (a !== 0 && (a >= 1e15 || a < 1e-3)) return v.toExponential(2);
    return a >= 100 ? v.toFixed(0) : a >= 1 ? v.toFixed(3) : v.toPrecision(3);
  };
  for (const button of document.querySelectorAll('button.run-toggle')) {
    button.addEventListener('click', () => {
      const run = button.dataset.run;
      const show = hidden.has(run);
      if (show) hidden.delete(run); else hidden.add(run);
      button.setAttribute('aria-pressed', String(show));
      for (const el of document.querySelectorAll('.chart [data-run="' + run + '"]')) el.style.display = show ? '' : 'none';
    });
  }
  for (const chart of charts) {
    const figure = document.querySelector('figure[data-chart="' + chart.id + '"]');
    const svg = figure.querySelector('svg');
    const cursor = svg.querySelector('line.cursor');
    const readout = figure.querySelector('.readout');
    svg.addEventListener('mousemove', (event) => {
      const box = svg.getBoundingClientRect();
      const sx = ((event.clientX - box.left) / box.width) * svg.viewBox.baseVal.width;
      const fx = (sx - chart.left) / chart.plotWidth;
      if (fx < 0 || fx > 1 || chart.series.length === 0) { cursor.setAttribute('visibility', 'hidden'); readout.hidden = true; return; }
      const x = chart.x[0] + fx * (chart.x[1] - chart.x[0]);
      const rows = [];
      for (const s of chart.series) {
        if (hidden.has(String(s.run))) continue;
        let best = s.points[0];
        for (const p of s.points) if (Math.abs(p[0] - x) < Math.abs(best[0] - x)) best = p;
        rows.push('<div><span class="swatch" style="background:' + s.color + '"></span>' + s.label.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]) + ': <b>' + fmt(best[1]) + '</b> at ' + fmt(best[0]) + '</div>');
      }
      cursor.setAttribute('x1', String(sx));
      cursor.setAttribute('x2', String(sx));
      cursor.setAttribute('visibility', 'visible');
      readout.innerHTML = rows.join('');
      readout.hidden = rows.length === 0;
    });
    svg.addEventListener('mouseleave', () => { cursor.setAttribute('visibility', 'hidden'); readout.hidden = true; });
  }
})();
`;
