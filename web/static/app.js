// app.js — progressive enhancement for the search form: show results as a table.
(function () {
  'use strict';
  var form = document.getElementById('search');
  var out = document.getElementById('results');
  if (!form || !window.fetch) return;
  function cell(tr, text) {
    var td = document.createElement('td');
    td.textContent = text == null ? '' : String(text);
    tr.appendChild(td);
  }
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var q = document.getElementById('q').value.trim();
    fetch('/api/v1/households?limit=20&q=' + encodeURIComponent(q), { credentials: 'same-origin' })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        out.textContent = '';
        if (data.error) { out.textContent = data.error.message; return; }
        var table = document.createElement('table');
        var head = document.createElement('tr');
        ['户编号', '户主', '村', '户类型', '人数'].forEach(function (h) {
          var th = document.createElement('th'); th.textContent = h; head.appendChild(th);
        });
        table.appendChild(head);
        data.items.forEach(function (h) {
          var tr = document.createElement('tr');
          cell(tr, h.hh_no); cell(tr, h.head_name); cell(tr, h.village_name);
          cell(tr, h.hh_type); cell(tr, h.members);
          table.appendChild(tr);
        });
        if (!data.items.length) out.textContent = '没有找到符合条件的户';
        else out.appendChild(table);
      })
      .catch(function () { out.textContent = '查询失败，请检查网络后重试'; });
  });
})();
