// login.js — the sign-in form: POST /api/v1/login, show the server's message
// (wrong password, locked with a countdown from Retry-After), then go on to
// the page asked for, or to the password page when a change is required.
import { api, nextPath, say } from './common.js';

const form = document.getElementById('login-form');
const login = document.getElementById('login');
const password = document.getElementById('password');
const submit = document.getElementById('submit');
const msg = document.getElementById('msg');
let lockTimer = null;

function afterLogin(mustChange) {
  const next = nextPath('/');
  location.replace(mustChange ? '/password.html?next=' + encodeURIComponent(next) : next);
}

// Already signed in (a second tab, the back button): go straight on.
api('GET', '/api/v1/me', undefined, { noRedirect: true })
  .then((me) => afterLogin(me.must_change_password))
  .catch(() => {});

// Keep the button disabled until the lock ends, counting down on it.
function lockFor(seconds) {
  let left = seconds;
  clearInterval(lockTimer);
  submit.disabled = true;
  const tick = () => {
    if (left <= 0) {
      clearInterval(lockTimer);
      submit.disabled = false;
      submit.textContent = '登录';
      return;
    }
    submit.textContent = '请等待 ' + left + ' 秒';
    left--;
  };
  tick();
  lockTimer = setInterval(tick, 1000);
}

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  if (submit.disabled) return;
  if (!login.value.trim() || !password.value) {
    say(msg, '请输入登录名和密码');
    (login.value.trim() ? password : login).focus();
    return;
  }
  submit.disabled = true;
  submit.textContent = '正在登录…';
  say(msg, '');
  try {
    const r = await api('POST', '/api/v1/login', { login: login.value.trim(), password: password.value },
      { noRedirect: true });
    submit.textContent = '登录成功，正在进入…';
    afterLogin(r.must_change_password);
  } catch (e) {
    submit.disabled = false;
    submit.textContent = '登录';
    say(msg, e.message);
    password.value = '';
    password.focus();
    const wait = parseInt(e.retryAfter, 10);
    if (e.status === 429 && wait > 0) lockFor(wait);
  }
});
