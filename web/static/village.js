// village.js — progressive enhancement of the village pages (/v/…), which
// work without it: forms marked data-validate are checked as the user types
// with the server's own rules (src/monitor/household.c: a date not after
// today, the text required and at most 2000 UTF-8 bytes, at most 5 risk
// types; src/screen/feed_api.c for the answer to a department warning), so a mistake shows next to its field before the form is sent; the
// server still decides.  The household page gets a print button.

const bytes = new TextEncoder();

// The rules, by field name: each returns '' when the value is acceptable,
// else the message the server would give.
function dateRule(label, required) {
  return (input) => {
    const v = input.value.trim();
    if (!v) return required ? '请填写' + label : '';
    if (!/^\d{4}-\d{2}-\d{2}$/.test(v) || Number.isNaN(Date.parse(v + 'T00:00:00Z')))
      return label + '应为有效日期，如 ' + input.max;
    if (input.max && v > input.max) return label + '不能晚于今天（' + input.max + '）';
    return '';
  };
}

function textRule(label) {
  return (input) => {
    const v = input.value.trim();
    if (!v) return '请填写' + label;
    const max = Number(input.dataset.maxBytes || 2000);
    if (bytes.encode(v).length > max) return label + '过长（最多约 600 字）';
    return '';
  };
}

const RULES = {
  visit: { visit_date: dateRule('走访日期', true), note: textRule('走访情况') },
  report: { applied_on: dateRule('申报日期', false), reason: textRule('申报事由') },
  feedback: { note: textRule('核实情况') },
};

function show(form, name, message) {
  const hint = document.getElementById(name + '-error');
  const input = form.elements[name];
  if (hint) {
    hint.textContent = message;
    hint.classList.toggle('bad', !!message);
  }
  if (input && input.setAttribute) input.setAttribute('aria-invalid', message ? 'true' : 'false');
}

function riskCheck(form) {
  const ticked = form.querySelectorAll('input[name="risk_types"]:checked').length;
  const message = ticked > 5 ? '风险类型最多选 5 项' : '';
  show(form, 'risk_types', message);
  return message;
}

function check(form, rules, name) {
  const message = rules[name](form.elements[name]);
  show(form, name, message);
  return message;
}

for (const form of document.querySelectorAll('form[data-validate]')) {
  const rules = RULES[form.dataset.validate];
  if (!rules) continue;
  const touched = new Set();
  for (const name of Object.keys(rules)) {
    const input = form.elements[name];
    if (!input) continue;
    // after the first blur (or a server refusal), re-check on every keystroke
    if (input.getAttribute('aria-invalid') === 'true') touched.add(name);
    input.addEventListener('blur', () => { touched.add(name); check(form, rules, name); });
    input.addEventListener('input', () => { if (touched.has(name)) check(form, rules, name); });
  }
  form.addEventListener('change', (ev) => {
    if (ev.target.name === 'risk_types') riskCheck(form);
  });
  form.addEventListener('submit', (ev) => {
    let first = null;
    for (const name of Object.keys(rules)) {
      if (!form.elements[name]) continue;
      touched.add(name);
      if (check(form, rules, name) && !first) first = form.elements[name];
    }
    if (riskCheck(form) && !first) first = form.querySelector('input[name="risk_types"]');
    if (first) {
      ev.preventDefault();
      first.focus();
      return;
    }
    const button = form.querySelector('button[type="submit"]');
    if (button) {
      // one submission only (a slow network invites a second tap)
      setTimeout(() => { button.disabled = true; button.textContent = '正在保存…'; }, 0);
    }
  });
}

for (const button of document.querySelectorAll('button.print')) {
  button.hidden = false;
  button.addEventListener('click', () => window.print());
}
