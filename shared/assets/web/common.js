// What the player page (app.js) and the operator view (operator.js) share: requests to the API on
// the same origin, errors as sentences, and the venue's wall clock (time-zone helpers). Loaded
// before either page's script; it defines one global, ER, and touches nothing on the page.
// No libraries, no build step.
'use strict';
const ER = (() => {
  const $ = (s, r = document) => r.querySelector(s);
  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) {
      const v = attrs[k];
      if (v === false || v == null) continue;
      if (k === 'on') for (const ev in v) e.addEventListener(ev, v[ev]);
      else e.setAttribute(k, v === true ? '' : v);
    }
    e.append(...kids.filter((x) => x != null && x !== false));
    return e;
  }
  const enc = encodeURIComponent;
  const two = (n) => String(n).padStart(2, '0');
  const plural = (n, w) => `${n} ${w}${n === 1 ? '' : 's'}`;
  // A number of minutes as people say it: "3 days", "1 hour", "90 minutes".
  function span(min) {
    if (min % 1440 === 0) return plural(min / 1440, 'day');
    if (min % 60 === 0) return plural(min / 60, 'hour');
    return plural(min, 'minute');
  }
  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
  // keep(store, key) reads, keep(store, key, value) writes, keep(store, key, null) forgets.
  function keep(store, k, v) {
    try {
      if (v === undefined) return store.getItem(k);
      if (v === null) store.removeItem(k); else store.setItem(k, v);
    } catch (e) { /* storage switched off: the page still works, it just forgets */ }
    return null;
  }

  // ---- the venue's wall clock, never the browser's zone ------------------------------------
  // Dates are local date strings YYYY-MM-DD of the room's zone; instants are UTC milliseconds.
  let skew = 0; // the server's clock minus this one, when they differ by more than 2 s
  const now = () => Date.now() + skew;
  const WD = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
  const MO = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August',
    'September', 'October', 'November', 'December'];
  const fmts = {};
  function validZone(tz) {
    try { new Intl.DateTimeFormat('en-US', { timeZone: tz }); return !!tz; } catch (e) { return false; }
  }
  // The wall clock of zone tz (UTC if the browser does not know it) at instant ms.
  function zoneParts(ms, tz) {
    let f = fmts[tz];
    if (!f) {
      f = new Intl.DateTimeFormat('en-US', { timeZone: validZone(tz) ? tz : 'UTC', hourCycle: 'h23',
        year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
      fmts[tz] = f;
    }
    const p = {};
    for (const x of f.formatToParts(new Date(ms))) p[x.type] = x.value;
    return { y: +p.year, m: +p.month, d: +p.day, h: +p.hour % 24, mi: +p.minute, s: +p.second };
  }
  const dateStr = (p) => `${p.y}-${two(p.m)}-${two(p.d)}`;
  const hm = (p) => `${two(p.h)}:${two(p.mi)}`;
  const utcDay = (ds) => Date.UTC(+ds.slice(0, 4), +ds.slice(5, 7) - 1, +ds.slice(8, 10));
  const todayIn = (tz) => dateStr(zoneParts(now(), tz));
  // The instant of local date ds at time t (HH:MM) in tz; null if the clocks skip that time.
  function zoneTime(ds, t, tz) {
    const want = utcDay(ds) + (+t.slice(0, 2) * 60 + +t.slice(3, 5)) * 60000;
    let ms = want;
    for (let i = 0; i < 3; i++) {
      const p = zoneParts(ms, tz);
      ms += want - Date.UTC(p.y, p.m - 1, p.d, p.h, p.mi, p.s);
    }
    const p = zoneParts(ms, tz);
    return dateStr(p) === ds && hm(p) === t ? ms : null;
  }
  // The first instant of local date ds in tz (later than midnight where the clocks skip it).
  function zoneMidnight(ds, tz) {
    for (let m = 0; m < 180; m += 15) {
      const t = zoneTime(ds, `${two(Math.floor(m / 60))}:${two(m % 60)}`, tz);
      if (t !== null) return t;
    }
    return utcDay(ds);
  }
  function addDays(ds, n) {
    const t = new Date(utcDay(ds) + n * 86400000);
    return `${t.getUTCFullYear()}-${two(t.getUTCMonth() + 1)}-${two(t.getUTCDate())}`;
  }
  const weekday = (ds) => new Date(utcDay(ds)).getUTCDay(); // 0 = Sunday
  const dayName = (ds) => WD[weekday(ds)];
  const monthName = (ds) => MO[+ds.slice(5, 7) - 1];
  const shortDate = (ds) => `${dayName(ds).slice(0, 3)} ${+ds.slice(8, 10)} ${monthName(ds).slice(0, 3)}`;
  // A slot's or booking's local date and HH:MM: as the API wrote them in local_start (the venue's
  // offset), else from start_time in zone tz.
  function localOf(x, tz) {
    if (typeof x.local_start === 'string' && x.local_start.length >= 16) {
      return { date: x.local_start.slice(0, 10), time: x.local_start.slice(11, 16) };
    }
    const p = zoneParts(Date.parse(x.start_time), tz);
    return { date: dateStr(p), time: hm(p) };
  }
  // An instant as "Thu 3 Dec, 19:00" on the wall clock of tz.
  function whenLocal(iso, tz) {
    const ms = Date.parse(iso);
    if (!ms) return '';
    const p = zoneParts(ms, tz);
    return `${shortDate(dateStr(p))}, ${hm(p)}`;
  }

  // ---- the API ------------------------------------------------------------------------------
  class ApiError extends Error {
    constructor(code, status, message) {
      super(message || code);
      this.code = code; this.status = status; this.apiMessage = message;
    }
  }
  let tokenOf = () => '';
  // The page's bearer token, read at each request as getter(method, path) (empty: none is sent:
  // a route answers 401 to a bearer it does not accept, so a page sends it only where it counts).
  function useToken(getter) { tokenOf = getter; }
  // {status, data} of one request; an ApiError for anything but a 2xx JSON object.
  async function request(method, path, body, headers) {
    const h = { Accept: 'application/json', ...(headers || {}) };
    if (body !== undefined) h['Content-Type'] = 'application/json';
    const token = tokenOf(method, path);
    if (token) h.Authorization = `Bearer ${token}`;
    const t0 = Date.now();
    let res;
    try {
      res = await fetch(path, { method, headers: h, cache: 'no-store',
        body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (e) {
      throw new ApiError('NETWORK', 0, '');
    }
    const date = Date.parse(res.headers.get('Date') || '');
    if (date) { // Date has whole seconds: +500 ms is its middle
      const diff = date + 500 - (t0 + Date.now()) / 2;
      skew = Math.abs(diff) > 2000 ? diff : 0;
    }
    let data = null;
    try { data = await res.json(); } catch (e) { /* not JSON */ }
    if (!res.ok) {
      throw new ApiError(data && typeof data.error === 'string' ? data.error : '', res.status,
        data && typeof data.message === 'string' ? data.message : '');
    }
    if (!data || typeof data !== 'object') throw new ApiError('BAD_ANSWER', res.status, '');
    return { status: res.status, data };
  }
  const api = async (method, path, body, headers) => (await request(method, path, body, headers)).data;

  // ---- errors as sentences ------------------------------------------------------------------
  const clean = (m) => String(m).replace(/`/g, '').trim();
  const stop = (m) => (/[.!?]$/.test(m) ? m : `${m}.`);
  const SENTENCES = {
    NETWORK: 'Could not reach the booking service. Check your connection and try again.',
    VALIDATION_ERROR: (e) => (e.apiMessage ? `That was not accepted: ${stop(clean(e.apiMessage))}`
      : 'That was not accepted. Please check what you entered.'),
    PAYLOAD_TOO_LARGE: 'That request was too large to send.',
    ROUTE_NOT_FOUND: 'This booking service does not offer that.',
    METHOD_NOT_ALLOWED: 'This booking service does not offer that.',
    IDEMPOTENCY_KEY_REUSED: 'That request is still being handled. Please try again in a moment.',
    IDEMPOTENCY_KEY_IN_USE: 'That request is still being handled. Please try again in a moment.',
    SERVICE_UNAVAILABLE: 'The booking service is busy right now. Please try again in a moment.',
    INTERNAL_ERROR: 'Something went wrong at the booking service. Please try again.',
  };
  // An error as a sentence for people: the page's own wording for a code (a string or a function
  // of the error) first, then the wording both pages share, then the server's message.
  function sentence(e, own) {
    const w = (own && own[e.code]) || SENTENCES[e.code];
    if (w) return typeof w === 'function' ? w(e) : w;
    if (e.status === 401) return 'Please sign in: the booking service did not accept the request without a valid sign-in token.';
    if (e.apiMessage && !/^\s*[{[]/.test(e.apiMessage)) return stop(clean(e.apiMessage));
    return `Something went wrong (the booking service answered ${e.status || 'nothing'}). Please try again.`;
  }
  // The page's message line (#msg): text, marked as an error when bad.
  function say(text, bad) {
    const m = $('#msg');
    m.textContent = text;
    if (bad) m.dataset.kind = 'error'; else delete m.dataset.kind;
  }

  return Object.freeze({
    $, el, enc, two, plural, span, uuid, keep,
    now, validZone, zoneParts, dateStr, hm, todayIn, zoneTime, zoneMidnight, addDays, weekday,
    dayName, monthName, shortDate, localOf, whenLocal,
    ApiError, useToken, request, api, sentence, say,
  });
})();
