// password.js — change one's own password (POST /api/v1/me/password).  The
// strength rules are shown as live hints; the server still decides.  While a
// forced change is pending the menu is hidden: nothing else works until then.
import { api, nextPath, passwordChecks, say, session } from './common.js';

const me = await session({ passwordPage: true });
const form = document.getElementById('pw-form');
const oldPw = document.getElementById('old');
const newPw = document.getElementById('new');
const confirmPw = document.getElementById('confirm');
const msg = document.getElementById('msg');
const submit = document.getElementById('submit');
const rules = document.querySelectorAll('#rules li');

document.getElementById('username').value = me.login;
if (me.must_change_password) {
  document.getElementById('forced').hidden = false;
  document.getElementById('nav').hidden = true;
}

function check() {
  const c = passwordChecks(newPw.value, me.login, confirmPw.value);
  const touched = newPw.value !== '' || confirmPw.value !== '';
  for (const li of rules) {
    const ok = c[li.dataset.rule];
    li.className = touched ? (ok ? 'ok' : 'bad') : '';
  }
  return c;
}
newPw.addEventListener('input', check);
confirmPw.addEventListener('input', check);

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  if (!oldPw.value) {
    say(msg, '请输入原密码');
    oldPw.focus();
    return;
  }
  const c = check();
  const failed = [...rules].filter((li) => !c[li.dataset.rule]).map((li) => li.textContent);
  if (failed.length) {
    say(msg, '新密码不符合要求：' + failed.join('；'));
    (c.match || !c.length || !c.classes || !c.login ? newPw : confirmPw).focus();
    return;
  }
  submit.disabled = true;
  say(msg, '');
  try {
    await api('POST', '/api/v1/me/password', { old_password: oldPw.value, new_password: newPw.value });
    say(msg, '密码已修改', 'ok');
    location.replace(nextPath('/'));
  } catch (e) {
    submit.disabled = false;
    say(msg, e.message);
    (e.code === 'E_OLD_PASSWORD' ? oldPw : newPw).focus();
  }
});
