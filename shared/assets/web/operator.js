// The operator view: sign in with the operator token, edit a room, its weekly schedule and
// closures (with a preview of the games it makes), and the day sheet with cancel-with-reason.
// Talks only to the public API on the same origin. No libraries, no build step.
'use strict';
(() => {
  const $ = (s, r = document) => r.querySelector(s);
  const DAYS = ['MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT', 'SUN'];
  const DAY_NAMES = { MON: 'Mon', TUE: 'Tue', WED: 'Wed', THU: 'Thu', FRI: 'Fri', SAT: 'Sat', SUN: 'Sun' };
  const JS_DAY = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
  const MO = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const NUMS = ['min_players', 'max_players', 'duration_minutes', 'buffer_minutes', 'min_notice_minutes',
    'max_advance_days', 'cancel_cutoff_minutes'];
  const REQUIRED = ['min_players', 'max_players', 'duration_minutes'];

  function keep(k, v) {
    try {
      if (v === undefined) return sessionStorage.getItem(k);
      if (v === null) sessionStorage.removeItem(k); else sessionStorage.setItem(k, v);
    } catch (e) { /* storage off: sign in again after a reload */ }
    return null;
  }
  const st = { token: keep('er.op') || '', rooms: [], room: null, sheet: [], asking: '', busy: false, pickSeq: 0, sheetSeq: 0 };

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

  // ---- time zones ----------------------------------------------------------------------------
  const fmts = {};
  function validZone(tz) {
    try { new Intl.DateTimeFormat('en-US', { timeZone: tz }); return !!tz; } catch (e) { return false; }
  }
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
  // The UTC instant of local date ds (YYYY-MM-DD) at time t (HH:MM) in tz; null if that local
  // time does not exist that day (the hour skipped when clocks go forward).
  function zoneTime(ds, t, tz) {
    const want = Date.UTC(+ds.slice(0, 4), +ds.slice(5, 7) - 1, +ds.slice(8, 10), +t.slice(0, 2), +t.slice(3, 5));
    let ms = want;
    for (let i = 0; i < 3; i++) {
      const p = zoneParts(ms, tz);
      ms += want - Date.UTC(p.y, p.m - 1, p.d, p.h, p.mi, p.s);
    }
    const p = zoneParts(ms, tz);
    return dateStr(p) === ds && hm(p) === t ? ms : null;
  }
  function zoneMidnight(ds, tz) {
    const exact = zoneTime(ds, '00:00', tz);
    if (exact !== null) return exact;
    for (let m = 15; m < 180; m += 15) { // midnight skipped by a clock change: the day's first instant
      const t = zoneTime(ds, `${two(Math.floor(m / 60))}:${two(m % 60)}`, tz);
      if (t !== null) return t;
    }
    return Date.UTC(+ds.slice(0, 4), +ds.slice(5, 7) - 1, +ds.slice(8, 10));
  }
  function addDays(ds, n) {
    const t = new Date(Date.UTC(+ds.slice(0, 4), +ds.slice(5, 7) - 1, +ds.slice(8, 10) + n));
    return `${t.getUTCFullYear()}-${two(t.getUTCMonth() + 1)}-${two(t.getUTCDate())}`;
  }
  const dayCode = (ds) => JS_DAY[new Date(Date.UTC(+ds.slice(0, 4), +ds.slice(5, 7) - 1, +ds.slice(8, 10))).getUTCDay()];
  const niceDate = (ds) => `${DAY_NAMES[dayCode(ds)]} ${+ds.slice(8, 10)} ${MO[+ds.slice(5, 7) - 1]} ${ds.slice(0, 4)}`;
  const roomZone = () => (st.room && st.room.time_zone) || 'UTC';
  const todayIn = (tz) => dateStr(zoneParts(Date.now(), tz));
  function localOf(x, tz) {
    if (typeof x.local_start === 'string' && x.local_start.length >= 16) {
      return { date: x.local_start.slice(0, 10), time: x.local_start.slice(11, 16) };
    }
    const p = zoneParts(Date.parse(x.start_time), tz);
    return { date: dateStr(p), time: hm(p) };
  }
  function whenLocal(iso, tz) {
    const ms = Date.parse(iso);
    if (!ms) return '';
    const p = zoneParts(ms, tz);
    return `${niceDate(dateStr(p)).slice(0, -5)}, ${hm(p)}`;
  }

  // ---- the API -----------------------------------------------------------------------------------
  class ApiError extends Error {
    constructor(code, status, message) { super(message || code); this.code = code; this.status = status; this.apiMessage = message; }
  }
  async function api(method, path, body) {
    const h = { Accept: 'application/json' };
    if (body !== undefined) h['Content-Type'] = 'application/json';
    if (st.token) h.Authorization = `Bearer ${st.token}`;
    let res;
    try {
      res = await fetch(path, { method, headers: h, cache: 'no-store',
        body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (e) {
      throw new ApiError('NETWORK', 0, '');
    }
    let data = null;
    try { data = await res.json(); } catch (e) { /* not JSON */ }
    if (!res.ok) {
      throw new ApiError(data && typeof data.error === 'string' ? data.error : '', res.status,
        data && typeof data.message === 'string' ? data.message : '');
    }
    return { status: res.status, data: data || {} };
  }
  function sentence(e) {
    const clean = (m) => String(m).replace(/`/g, '').trim();
    const stop = (m) => (/[.!?]$/.test(m) ? m : `${m}.`);
    switch (e.code) {
      case 'NETWORK': return 'Could not reach the booking service. Check the connection and try again.';
      case 'VALIDATION_ERROR': return e.apiMessage ? `Not accepted: ${stop(clean(e.apiMessage))}` : 'Not accepted: please check the form.';
      case 'UNAUTHENTICATED': return 'Please sign in with the operator token.';
      case 'OPERATOR_ONLY': return 'The operator token was not accepted (or this server has no operator configured). Please sign in again.';
      case 'ROOM_NOT_FOUND': return 'There is no such room. Save the room first.';
      case 'SCHEDULE_NOT_FOUND': return 'This room has no schedule yet.';
      case 'ROUTE_NOT_FOUND':
      case 'METHOD_NOT_ALLOWED': return 'This server does not offer that yet; it needs a newer version of the booking service.';
      case 'SLOT_STARTED': return 'This game has already started, so the booking can no longer be cancelled.';
      case 'HOLD_NOT_CONFIRMED': return 'Only a confirmed booking can be cancelled.';
      case 'HOLD_GONE': return 'That booking no longer exists.';
      case 'NOT_HOLD_OWNER': return 'This server does not let the operator cancel players’ bookings yet.';
      case 'CANCEL_CUTOFF': return 'It is too close to the start to cancel this booking.';
      case 'PAYLOAD_TOO_LARGE': return 'That is too large to send: fewer opening times or closures, please.';
      case 'SERVICE_UNAVAILABLE': return 'The booking service is busy right now. Please try again in a moment.';
      case 'INTERNAL_ERROR': return 'Something went wrong at the booking service. Please try again.';
      default:
        if (e.apiMessage && !/^\s*[{[]/.test(e.apiMessage)) return stop(clean(e.apiMessage));
        return `Something went wrong (the booking service answered ${e.status || 'nothing'}). Please try again.`;
    }
  }
  function say(text, bad) {
    const m = $('#msg');
    m.textContent = text;
    if (bad) m.dataset.kind = 'error'; else delete m.dataset.kind;
  }
  // An operator call was refused for its credentials: back to the sign-in form.
  function fail(e, prefix) {
    say(`${prefix ? `${prefix} ` : ''}${sentence(e)}`, true);
    if (e.code === 'UNAUTHENTICATED' || e.code === 'OPERATOR_ONLY' || (e.status === 401 && !e.code)) signOut(true);
  }

  // ---- sign-in --------------------------------------------------------------------------------------
  async function signIn(token) {
    st.token = token;
    try {
      const r = await api('GET', '/rooms');
      st.rooms = r.data.rooms || [];
      // Check the token on an operator route: the day sheet (read only) where the server has
      // one, else a schedule PUT whose body is not an object, which the server refuses (422)
      // without changing anything once the token is accepted (401/403 otherwise).
      const refused = (e) => e.code === 'UNAUTHENTICATED' || e.code === 'OPERATOR_ONLY' || e.status === 401 || e.status === 403;
      const probe = st.rooms.length ? st.rooms[0].room_id : 'sign-in-check';
      try {
        await api('GET', `/rooms/${enc(probe)}/bookings`);
      } catch (e) {
        if (refused(e)) throw e;
        try { await api('PUT', `/rooms/${enc(probe)}/schedule`, []); } catch (e2) { if (refused(e2)) throw e2; }
      }
    } catch (e) {
      st.token = '';
      keep('er.op', null);
      say(e.code === 'OPERATOR_ONLY' || e.code === 'UNAUTHENTICATED' ? 'That operator token was not accepted. Please check it and try again.' : sentence(e), true);
      $('#op-token').focus();
      return;
    }
    keep('er.op', token);
    $('#signin').hidden = true;
    $('#app').hidden = false;
    say('Signed in. Choose a room to edit, or create a new one.');
    fillRooms();
    const saved = keep('er.op.room');
    await pickRoom(st.rooms.some((r) => r.room_id === saved) ? saved : (st.rooms[0] || {}).room_id || '');
    $('#room-h').setAttribute('tabindex', '-1');
    $('#room-h').focus();
  }
  function signOut(keepMsg) {
    st.token = '';
    keep('er.op', null);
    $('#app').hidden = true;
    $('#signin').hidden = false;
    $('#op-token').value = '';
    if (!keepMsg) say('Signed out.');
    $('#op-token').focus();
  }

  // ---- room -------------------------------------------------------------------------------------------
  function fillRooms() {
    const sel = $('#room-pick');
    const cur = sel.value;
    sel.textContent = '';
    sel.append(el('option', { value: '' }, 'New room…'));
    for (const r of st.rooms) sel.append(el('option', { value: r.room_id }, `${r.name} (${r.room_id})`));
    sel.value = st.rooms.some((r) => r.room_id === cur) ? cur : '';
  }
  async function reloadRooms() {
    try {
      st.rooms = (await api('GET', '/rooms')).data.rooms || [];
      fillRooms();
    } catch (e) { fail(e, 'Could not load the rooms:'); }
  }

  async function pickRoom(id) {
    const seq = ++st.pickSeq;
    $('#room-pick').value = id;
    keep('er.op.room', id || null);
    $('#sched-result').textContent = '';
    st.asking = '';
    if (!id) {
      st.room = null;
      for (const k of ['room_id', 'name']) $(`#f-${k}`).value = '';
      $('#f-room_id').readOnly = false;
      $('#f-time_zone').value = 'UTC';
      const defaults = { min_players: 2, max_players: 6, duration_minutes: 60, buffer_minutes: 0,
        min_notice_minutes: 0, max_advance_days: 60, cancel_cutoff_minutes: 0 };
      for (const k of NUMS) $(`#f-${k}`).value = defaults[k];
      setSchedule(null);
      $('#sheet').textContent = '';
      $('#sheet-title').textContent = 'Save the room to see its day sheet.';
      return;
    }
    let room = st.rooms.find((r) => r.room_id === id);
    if (room) $('#sheet-date').value = todayIn(room.time_zone);
    try { room = (await api('GET', `/rooms/${enc(id)}`)).data; } catch (e) { if (!room) { fail(e); return; } }
    if (seq !== st.pickSeq) return;
    st.room = room;
    $('#f-room_id').value = room.room_id;
    $('#f-room_id').readOnly = true;
    $('#f-name').value = room.name;
    $('#f-time_zone').value = room.time_zone;
    for (const k of NUMS) $(`#f-${k}`).value = room[k] == null ? '' : room[k];
    let sched = null;
    try {
      sched = (await api('GET', `/rooms/${enc(id)}/schedule`)).data;
    } catch (e) {
      if (e.code !== 'SCHEDULE_NOT_FOUND') fail(e, 'Could not load the schedule:');
    }
    if (seq !== st.pickSeq) return;
    setSchedule(sched);
    if (!$('#sheet-date').value) $('#sheet-date').value = todayIn(room.time_zone);
    loadSheet();
  }

  async function saveRoom(ev) {
    ev.preventDefault();
    const id = $('#f-room_id').value.trim();
    if (!/^[A-Za-z0-9._:-]{1,50}$/.test(id)) {
      say('The room id must be 1 to 50 letters, digits, dots, underscores, colons or hyphens.', true);
      $('#f-room_id').focus();
      return;
    }
    const body = { name: $('#f-name').value.trim(), time_zone: $('#f-time_zone').value.trim() };
    for (const k of NUMS) {
      const v = $(`#f-${k}`).value.trim();
      if (v === '' && !REQUIRED.includes(k)) continue;
      if (!/^\d+$/.test(v)) { say(`“${$(`label[for=f-${k}]`).textContent}” must be a whole number.`, true); $(`#f-${k}`).focus(); return; }
      body[k] = Number(v);
    }
    if (!validZone(body.time_zone)) say(`Note: this browser does not know the time zone “${body.time_zone}”; the server decides.`);
    try {
      const r = await api('PUT', `/rooms/${enc(id)}`, body);
      const wasNew = !st.room || st.room.room_id !== id;
      st.room = r.data;
      await reloadRooms();
      $('#room-pick').value = id;
      keep('er.op.room', id);
      $('#f-room_id').readOnly = true;
      // The schedule form is left as it is: it may hold what the operator is about to publish.
      if (wasNew) {
        $('#sheet-date').value = todayIn(st.room.time_zone);
        loadSheet();
      }
      renderPreview();
      say(r.status === 201 ? `Created room “${r.data.name}” (${id}). Now give it a weekly schedule.` : `Saved room “${r.data.name}” (${id}).`);
    } catch (e) { fail(e, 'The room was not saved.'); }
  }

  // ---- schedule ----------------------------------------------------------------------------------------
  function weekRow(entry) {
    const n = $('#weekly').children.length + 1;
    const days = new Set((entry && entry.days) || []);
    const checks = el('div', { class: 'daychecks' });
    for (const d of DAYS) {
      const id = `wk${n}-${d}-${Math.random().toString(36).slice(2, 7)}`;
      checks.append(el('label', { for: id }, el('input', { type: 'checkbox', id, class: 'day-cb', value: d, checked: days.has(d) }), DAY_NAMES[d]));
    }
    const sid = `starts-${Math.random().toString(36).slice(2, 8)}`;
    const fs = el('fieldset', { class: 'week' },
      el('legend', {}, `Opening times ${n}`),
      el('p', { class: 'note' }, 'Days'), checks,
      el('div', { class: 'field' }, el('label', { for: sid }, 'Start times (24-hour HH:MM, separated by commas)'),
        el('input', { id: sid, class: 'starts', value: ((entry && entry.starts) || []).join(', '), placeholder: '10:00, 13:30, 17:00', spellcheck: 'false' })),
      el('p', { class: 'row' }, el('button', { type: 'button', class: 'remove', on: { click: () => { fs.remove(); renumber(); renderPreview(); } } }, `Remove opening times ${n}`)));
    $('#weekly').append(fs);
  }
  function closureRow(c) {
    const n = $('#closed').children.length + 1;
    const u = Math.random().toString(36).slice(2, 8);
    const fs = el('fieldset', { class: 'closure' },
      el('legend', {}, `Closure ${n}`),
      el('div', { class: 'grid' },
        el('div', { class: 'field' }, el('label', { for: `cf-${u}` }, 'First closed date'), el('input', { id: `cf-${u}`, class: 'c-from', type: 'date', value: (c && c.from) || '' })),
        el('div', { class: 'field' }, el('label', { for: `ct-${u}` }, 'Last closed date'), el('input', { id: `ct-${u}`, class: 'c-to', type: 'date', value: (c && c.to) || '' })),
        el('div', { class: 'field' }, el('label', { for: `cr-${u}` }, 'Reason (shown to anyone)'), el('input', { id: `cr-${u}`, class: 'c-reason', value: (c && c.reason) || '', maxlength: '200' }))),
      el('p', { class: 'row' }, el('button', { type: 'button', class: 'remove', on: { click: () => { fs.remove(); renumber(); renderPreview(); } } }, `Remove closure ${n}`)));
    $('#closed').append(fs);
  }
  function renumber() {
    [...$('#weekly').children].forEach((fs, i) => {
      fs.querySelector('legend').textContent = `Opening times ${i + 1}`;
      fs.querySelector('.remove').textContent = `Remove opening times ${i + 1}`;
    });
    [...$('#closed').children].forEach((fs, i) => {
      fs.querySelector('legend').textContent = `Closure ${i + 1}`;
      fs.querySelector('.remove').textContent = `Remove closure ${i + 1}`;
    });
  }
  function setSchedule(s) {
    $('#weekly').textContent = '';
    $('#closed').textContent = '';
    const weekly = s && Array.isArray(s.weekly) && s.weekly.length ? s.weekly : [null];
    for (const w of weekly) weekRow(w);
    for (const c of (s && s.closed) || []) closureRow(c);
    renderPreview();
  }

  // The schedule as the form has it, and what is wrong with it.
  function readSchedule() {
    const problems = [];
    const weekly = [];
    [...$('#weekly').children].forEach((fs, i) => {
      const days = [...fs.querySelectorAll('.day-cb')].filter((c) => c.checked).map((c) => c.value);
      const raw = fs.querySelector('.starts').value.split(/[\s,;]+/).filter(Boolean);
      const starts = [];
      for (const t of raw) {
        const m = /^(\d{1,2}):(\d{2})$/.exec(t);
        if (!m || +m[1] > 23 || +m[2] > 59) problems.push(`Opening times ${i + 1}: “${t}” is not a time as HH:MM (00:00 to 23:59).`);
        else starts.push(`${two(+m[1])}:${m[2]}`);
      }
      if (!days.length && !starts.length) return;
      if (!days.length) problems.push(`Opening times ${i + 1}: tick at least one day.`);
      if (!starts.length && !raw.length) problems.push(`Opening times ${i + 1}: enter at least one start time.`);
      weekly.push({ days, starts });
    });
    if (!weekly.length) problems.push('Tick at least one day and enter its start times.');
    const closed = [];
    [...$('#closed').children].forEach((fs, i) => {
      const from = fs.querySelector('.c-from').value;
      const to = fs.querySelector('.c-to').value || from;
      const reason = fs.querySelector('.c-reason').value.trim();
      if (!from && !reason) return;
      if (!/^\d{4}-\d{2}-\d{2}$/.test(from)) { problems.push(`Closure ${i + 1}: choose its first date.`); return; }
      if (to < from) problems.push(`Closure ${i + 1}: the last date is before the first.`);
      closed.push({ from, to, reason });
    });
    return { weekly, closed, problems };
  }

  function overlaps(weekly) {
    const dur = Number($('#f-duration_minutes').value) || 0;
    const buf = Number($('#f-buffer_minutes').value) || 0;
    const all = [];
    for (const w of weekly) for (const d of w.days) for (const t of w.starts) {
      const i = DAYS.indexOf(d);
      if (i >= 0) all.push({ d, t, at: i * 1440 + +t.slice(0, 2) * 60 + +t.slice(3, 5) });
    }
    const uniq = [...new Map(all.map((x) => [x.at, x])).values()].sort((a, b) => a.at - b.at);
    const out = [];
    for (let i = 0; i < uniq.length && uniq.length > 1; i++) {
      const a = uniq[i];
      const b = uniq[(i + 1) % uniq.length];
      const gap = (b.at - a.at + 10080) % 10080 || 10080;
      if (gap < dur + buf) out.push(`Games at ${a.d} ${a.t} and ${b.d} ${b.t} overlap: each takes ${dur} minutes plus a ${buf}-minute buffer.`);
    }
    return out;
  }

  function renderPreview() {
    const list = $('#preview');
    const sum = $('#preview-sum');
    list.textContent = '';
    const tz = $('#f-time_zone').value.trim() || 'UTC';
    if (!validZone(tz)) { sum.textContent = `Unknown time zone “${tz}”: no preview.`; return; }
    const s = readSchedule();
    const warnings = s.problems.concat(overlaps(s.weekly));
    const nowP = zoneParts(Date.now(), tz);
    const today = dateStr(nowP);
    const nowHM = hm(nowP);
    let total = 0;
    for (let i = 0; i < 7; i++) {
      const ds = addDays(today, i);
      const code = dayCode(ds);
      const closure = s.closed.find((c) => c.from <= ds && ds <= c.to);
      const starts = [...new Set(s.weekly.filter((w) => w.days.includes(code)).flatMap((w) => w.starts))].sort();
      const li = el('li', { 'data-date': ds }, el('span', { class: 'pd' }, niceDate(ds).slice(0, -5)));
      if (closure) {
        li.append(`closed${closure.reason ? ` (${closure.reason})` : ''}`);
        li.dataset.games = '0';
      } else {
        const games = starts.filter((t) => (i > 0 || t > nowHM) && zoneTime(ds, t, tz) !== null);
        total += games.length;
        li.dataset.games = String(games.length);
        li.append(games.length ? games.join(', ') : 'no games');
        const gone = starts.filter((t) => !(i > 0 || t > nowHM));
        if (gone.length) li.append(el('span', { class: 'note' }, ` (already past today: ${gone.join(', ')})`));
      }
      list.append(li);
    }
    sum.textContent = `${plural(total, 'game')} in the next 7 days (${tz}).`;
    sum.dataset.total = String(total);
    for (const w of warnings) list.append(el('li', { class: 'warn' }, w));
  }

  async function publish(ev) {
    ev.preventDefault();
    if (!st.room) { say('Save the room first, then publish its schedule.', true); return; }
    const s = readSchedule();
    if (s.problems.length) { say(s.problems[0], true); return; }
    const id = st.room.room_id;
    const out = $('#sched-result');
    out.textContent = '';
    try {
      const r = (await api('PUT', `/rooms/${enc(id)}/schedule`, { weekly: s.weekly, closed: s.closed })).data;
      const tz = roomZone();
      const dl = el('dl', {});
      const add = (k, v) => dl.append(el('dt', {}, k), el('dd', { 'data-k': k.toLowerCase() }, String(v)));
      add('Planned', r.planned);
      add('Created', r.created);
      if (r.updated != null) add('Moved', r.updated);
      if (r.skipped != null) add('Skipped', r.skipped);
      add('Removed', r.removed);
      const kept = Array.isArray(r.kept) ? r.kept : [];
      add('Kept', kept.length);
      out.append(el('h3', {}, 'Published'), dl);
      if (kept.length) {
        out.append(el('p', {}, 'Kept because a player holds or booked them (not in the new schedule):'),
          el('ul', {}, ...kept.map((k) => el('li', {}, `${whenLocal(k.start_time, tz)} — ${k.status === 'BOOKED' ? 'booked' : 'held'} (${k.slot_id})`))));
      }
      say(`Published the schedule of ${st.room.name}: ${plural(r.planned, 'game')} from now to ${st.room.max_advance_days || 60} days ahead; ${r.created} created, ${r.removed} removed, ${kept.length} kept.`);
    } catch (e) { fail(e, 'The schedule was not published.'); }
  }

  // ---- day sheet -----------------------------------------------------------------------------------------
  async function loadSheet(ev) {
    if (ev) ev.preventDefault();
    const room = st.room;
    const box = $('#sheet');
    if (!room) return;
    const tz = room.time_zone;
    const ds = $('#sheet-date').value || todayIn(tz);
    const from = new Date(zoneMidnight(ds, tz)).toISOString();
    const to = new Date(zoneMidnight(addDays(ds, 1), tz)).toISOString();
    $('#sheet-title').textContent = `${room.name}, ${niceDate(ds)} (${tz})`;
    const seq = ++st.sheetSeq;
    try {
      const r = (await api('GET', `/rooms/${enc(room.room_id)}/bookings?from=${enc(from)}&to=${enc(to)}`)).data;
      if (st.room !== room || seq !== st.sheetSeq) return;
      st.sheet = Array.isArray(r.bookings) ? r.bookings : [];
      renderSheet(ds);
    } catch (e) {
      if (seq !== st.sheetSeq) return;
      box.textContent = '';
      box.append(el('p', { class: 'warn' }, `Could not load the day sheet: ${sentence(e)}`));
      if (e.code === 'UNAUTHENTICATED' || e.code === 'OPERATOR_ONLY') fail(e);
    }
  }

  function renderSheet(ds) {
    const box = $('#sheet');
    const tz = roomZone();
    box.textContent = '';
    const live = st.sheet.filter((b) => b.status === 'CONFIRMED');
    const people = live.reduce((n, b) => n + (Number(b.players) || 0), 0);
    box.append(el('p', { id: 'sheet-sum' }, st.sheet.length
      ? `${plural(live.length, 'booking')}${people ? `, ${plural(people, 'player')}` : ''}${st.sheet.length > live.length ? `; ${st.sheet.length - live.length} cancelled` : ''}.`
      : `No bookings on ${niceDate(ds)}.`));
    if (!st.sheet.length) return;
    const body = el('tbody', {});
    for (const b of st.sheet) {
      const l = localOf(b, tz);
      const cancelled = b.status === 'CANCELLED';
      let status = cancelled ? 'Cancelled' : 'Booked';
      if (cancelled) {
        status += b.cancelled_by ? ` by ${b.cancelled_by}` : '';
        status += b.cancelled_at ? ` at ${whenLocal(b.cancelled_at, tz)}` : '';
        status += b.reason ? ` — “${b.reason}”` : '';
      }
      const action = el('td', { 'data-h': 'Action' });
      const started = Date.parse(b.start_time) <= Date.now();
      if (!cancelled && !started) {
        if (st.asking === b.hold_id) {
          const rid = `reason-${b.hold_id}`;
          action.append(el('div', { class: 'field' }, el('label', { for: rid }, 'Reason (told to the player)'),
            el('input', { id: rid, class: 'op-reason', maxlength: '500', required: true })),
          el('p', { class: 'row' },
            el('button', { type: 'button', class: 'op-cancel-yes danger', on: { click: () => cancel(b) } }, 'Cancel booking'),
            el('button', { type: 'button', class: 'op-cancel-no', on: { click: () => { st.asking = ''; renderSheet(ds); } } }, 'Keep it')));
        } else {
          action.append(el('button', { type: 'button', class: 'op-cancel', 'aria-label': `Cancel the ${l.time} booking of ${b.user_id}`,
            on: { click: () => { st.asking = b.hold_id; renderSheet(ds); const i = $(`#reason-${CSS.escape(b.hold_id)}`); if (i) i.focus(); } } }, 'Cancel…'));
        }
      }
      body.append(el('tr', { 'data-hold': b.hold_id, 'data-status': b.status },
        el('td', { 'data-h': 'Time' }, l.time),
        el('td', { 'data-h': 'Player' }, b.user_id || ''),
        el('td', { 'data-h': 'Players' }, b.players == null ? '' : String(b.players)),
        el('td', { 'data-h': 'Status', class: 'status' }, status),
        el('td', { 'data-h': 'Booked at' }, b.confirmed_at ? whenLocal(b.confirmed_at, tz) : ''),
        action));
    }
    box.append(el('table', {}, el('caption', { class: 'note' }, `Bookings, times in ${tz}`),
      el('thead', {}, el('tr', {}, ...['Time', 'Player', 'Players', 'Status', 'Booked at', 'Action'].map((h) => el('th', { scope: 'col' }, h)))),
      body));
  }

  async function cancel(b) {
    if (st.busy) return;
    const input = $(`#reason-${CSS.escape(b.hold_id)}`);
    const reason = input ? input.value.trim() : '';
    if (!reason) { say('Please give a reason: the player is told it.', true); if (input) input.focus(); return; }
    st.busy = true;
    try {
      await api('POST', `/holds/${enc(b.hold_id)}/cancel`, { reason });
      st.asking = '';
      const l = localOf(b, roomZone());
      say(`Cancelled the ${l.time} booking of ${b.user_id} (reason: ${reason}). The time is free again.`);
      await loadSheet();
      $('#sheet-h').setAttribute('tabindex', '-1');
      $('#sheet-h').focus();
    } catch (e) {
      fail(e, 'The booking was not cancelled.');
    } finally {
      st.busy = false;
    }
  }

  // ---- start -------------------------------------------------------------------------------------------------
  function init() {
    const zones = $('#zones');
    let list = ['UTC'];
    try { list = list.concat(Intl.supportedValuesOf('timeZone').filter((z) => z !== 'UTC')); } catch (e) { /* old browser */ }
    for (const z of list) zones.append(el('option', { value: z }));
    $('#signin-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const t = $('#op-token').value.trim();
      if (t) signIn(t);
    });
    $('#signout').addEventListener('click', () => signOut(false));
    $('#room-pick').addEventListener('change', (ev) => pickRoom(ev.target.value));
    $('#room-form').addEventListener('submit', saveRoom);
    $('#sched-form').addEventListener('submit', publish);
    $('#sched-form').addEventListener('input', renderPreview);
    $('#sched-form').addEventListener('change', renderPreview);
    $('#room-form').addEventListener('input', renderPreview);
    $('#add-week').addEventListener('click', () => { weekRow(null); renderPreview(); $('#weekly').lastElementChild.querySelector('input').focus(); });
    $('#add-closure').addEventListener('click', () => { closureRow(null); $('#closed').lastElementChild.querySelector('input').focus(); });
    $('#sheet-form').addEventListener('submit', loadSheet);
    if (st.token) signIn(st.token); else $('#op-token').focus();
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
