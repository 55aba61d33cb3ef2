// Charts of the plan dashboards, drawn with the vendored ECharts. Each
// chart element carries its data as JSON in data-chart (the CSP allows
// no inline script, and htmx drops script elements it swaps in).
// Charts inside content that htmx swaps in are drawn when it arrives.
(function () {
  'use strict';

  var statusColors = { '达标': '#15803d', '按进度': '#2563eb', '滞后': '#dc2626', '无数据': '#9ca3af', '不评估': '#6b7280' };
  var charts = [];

  function fmt(v, unit) {
    if (v === null || v === undefined) { return '—'; }
    var s = (Math.round(v * 100) / 100).toLocaleString('zh-CN');
    return unit === '%' ? s + '%' : s + ' ' + unit;
  }

  function present(list) {
    return (list || []).filter(function (v) { return v !== null && v !== undefined; });
  }

  // axisRange keeps the target line in view: ECharts fits the axis to
  // the series, not to mark lines.
  function axisRange(d) {
    var vals = present(d.values).concat(present(d.expected));
    if (d.target !== null && d.target !== undefined) { vals.push(d.target); }
    if (!vals.length) { return {}; }
    var lo = Math.min.apply(null, vals), hi = Math.max.apply(null, vals);
    var pad = (hi - lo) * 0.12 || Math.abs(hi) * 0.1 || 1;
    lo = lo - pad < 0 && lo >= 0 ? 0 : lo - pad;
    if (d.unit === '%') { hi = Math.min(100, hi + pad); } else { hi = hi + pad; }
    return { min: Number(lo.toPrecision(3)), max: Number(hi.toPrecision(3)) };
  }

  function trendOption(d) {
    var range = axisRange(d);
    var actual = {
      name: '实际值', type: 'line', symbol: 'circle', connectNulls: false,
      lineStyle: { color: '#1d4ed8', width: 2.5 }, itemStyle: { color: '#1d4ed8' },
      data: d.values.map(function (v, i) {
        var big = d.labels[i] === d.selected;
        return { value: v, symbolSize: big ? 13 : 8, itemStyle: { color: statusColors[d.statuses[i]] || '#1d4ed8', borderColor: '#fff', borderWidth: big ? 2 : 1 } };
      })
    };
    var series = [actual];
    if (present(d.expected).length) {
      series.push({ name: '应达进度', type: 'line', symbol: 'none', data: d.expected,
        lineStyle: { type: 'dashed', color: '#6b7280', width: 1.5 }, itemStyle: { color: '#6b7280' } });
    }
    if (d.target !== null && d.target !== undefined) {
      actual.markLine = { symbol: 'none', silent: true, lineStyle: { color: '#b91c1c', type: 'dashed', width: 1.5 },
        label: { formatter: d.target_text, position: 'insideEndTop', color: '#b91c1c', fontSize: 11 },
        data: [{ yAxis: d.target }] };
    }
    return {
      animation: false,
      grid: { left: 8, right: 16, top: 30, bottom: 8, containLabel: true },
      legend: { top: 0, left: 0, itemWidth: 16, itemHeight: 8, textStyle: { fontSize: 11 } },
      tooltip: {
        trigger: 'axis', renderMode: 'richText',
        formatter: function (ps) {
          var i = ps[0].dataIndex, lines = [d.labels[i] + ' 年'];
          lines.push('实际值：' + fmt(d.values[i], d.unit) + '（' + (d.statuses[i] || '') + '）');
          if (d.expected && d.expected[i] !== null && d.expected[i] !== undefined) { lines.push('应达：' + fmt(d.expected[i], d.unit)); }
          return lines.join('\n');
        }
      },
      xAxis: { type: 'category', data: d.labels, boundaryGap: false, axisLabel: { fontSize: 11 } },
      yAxis: { type: 'value', min: range.min, max: range.max, axisLabel: { fontSize: 11 },
        name: d.unit, nameTextStyle: { fontSize: 11, align: 'left' } },
      series: series
    };
  }

  function barOption(d) {
    var rows = d.labels.map(function (l, i) { return { label: l, value: d.values[i] }; })
      .filter(function (r) { return r.value !== null && r.value !== undefined; })
      .sort(function (a, b) { return a.value - b.value; });
    return {
      animation: false,
      grid: { left: 8, right: 56, top: 8, bottom: 8, containLabel: true },
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, renderMode: 'richText',
        formatter: function (ps) { return ps[0].name + '：' + fmt(ps[0].value, d.unit); } },
      xAxis: { type: 'value', axisLabel: { fontSize: 11 } },
      yAxis: { type: 'category', data: rows.map(function (r) { return r.label; }), axisLabel: { fontSize: 12 } },
      series: [{ type: 'bar', data: rows.map(function (r) { return r.value; }), itemStyle: { color: '#2563eb' }, barMaxWidth: 22,
        label: { show: true, position: 'right', fontSize: 11, formatter: function (p) { return fmt(p.value, d.unit); } } }]
    };
  }

  function draw(root) {
    if (!window.echarts) { return; }
    var els = root.querySelectorAll ? root.querySelectorAll('[data-chart]') : [];
    Array.prototype.forEach.call(els, function (el) {
      if (el.getAttribute('data-drawn')) { return; }
      var d = JSON.parse(el.getAttribute('data-chart'));
      if (d.kind === 'bars') {
        var n = present(d.values).length;
        el.style.height = Math.max(160, 26 * n + 30) + 'px';
      }
      var chart = window.echarts.init(el, null, { renderer: 'canvas' });
      chart.setOption(d.kind === 'bars' ? barOption(d) : trendOption(d));
      el.setAttribute('data-drawn', '1');
      charts.push(chart);
    });
  }

  // prune lets go of charts whose element htmx took out of the page.
  function prune() {
    charts = charts.filter(function (c) {
      if (document.body.contains(c.getDom())) { return true; }
      c.dispose();
      return false;
    });
  }

  function resizeAll() { charts.forEach(function (c) { c.resize(); }); }

  document.addEventListener('DOMContentLoaded', function () { draw(document); });
  // htmx:load comes from each element htmx puts in: an outerHTML swap
  // fires its other events on the element it took out.
  document.addEventListener('htmx:load', function () { prune(); draw(document); });
  window.addEventListener('resize', resizeAll);
  window.addEventListener('beforeprint', resizeAll);
  window.addEventListener('afterprint', resizeAll);
  document.addEventListener('click', function (e) {
    var b = e.target.closest && e.target.closest('[data-action="print"]');
    if (b) { window.print(); }
  });
})();
