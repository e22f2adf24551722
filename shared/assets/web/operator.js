// The operator view: sign in with the operator token, edit a room, its weekly schedule and
// closures (with the server's preview of what publishing would do), and the day sheet with
// cancel-with-reason. Talks only to the public API on the same origin through common.js, which
// it shares with the player page. It plans nothing itself: which games a schedule makes is the
// server's answer to POST /rooms/{room_id}/schedule/preview. No libraries, no build step.
'use strict';
(() => {
  const { $, el, enc, plural, keep, now, validZone, todayIn, zoneMidnight, addDays, shortDate,
    localOf, whenLocal, api, say } = ER;
  const DAYS = ['MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT', 'SUN'];
  const DAY_NAMES = { MON: 'Mon', TUE: 'Tue', WED: 'Wed', THU: 'Thu', FRI: 'Fri', SAT: 'Sat', SUN: 'Sun' };
  const NUMS = ['min_players', 'max_players', 'duration_minutes', 'buffer_minutes', 'min_notice_minutes',
    'max_advance_days', 'cancel_cutoff_minutes'];
  const REQUIRED = ['min_players', 'max_players', 'duration_minutes'];
  const PREVIEW_DAYS = 7;

  const st = { token: keep(sessionStorage, 'er.op') || '', rooms: [], room: null, sheet: [], asking: '',
    busy: false, pickSeq: 0, sheetSeq: 0, previewSeq: 0, previewTimer: 0 };
  // The operator's token goes only to the routes that take one (the operator's, a room's
  // schedule, a cancellation): a public listing answers 401 to a bearer it does not accept.
  const PUBLIC = /^\/(rooms|slots|service)(\?|$)|^\/rooms\/[^/?]+(\?|$)/;
  ER.useToken((method, path) => (method === 'GET' && PUBLIC.test(path) ? '' : st.token));

  const niceDate = (ds) => `${shortDate(ds)} ${ds.slice(0, 4)}`;
  const roomZone = () => (st.room && st.room.time_zone) || 'UTC';

  // ---- errors as sentences: the operator's wording (common.js has the shared ones) ---------------
  function sentence(e) {
    return ER.sentence(e, {
      UNAUTHENTICATED: 'Please sign in with the operator token.',
      OPERATOR_ONLY: 'The operator token was not accepted (or this server has no operator configured). Please sign in again.',
      ROOM_NOT_FOUND: 'There is no such room. Save the room first.',
      SCHEDULE_NOT_FOUND: 'This room has no schedule yet.',
      SCHEDULE_INCOMPLETE: 'The schedule is saved, but not all of its games were made or removed yet. Publish it again to finish (the nightly run finishes it too).',
      ROUTE_NOT_FOUND: 'This server does not offer that yet; it needs a newer version of the booking service.',
      METHOD_NOT_ALLOWED: 'This server does not offer that yet; it needs a newer version of the booking service.',
      SLOT_STARTED: 'This game has already started, so the booking can no longer be cancelled.',
      HOLD_NOT_CONFIRMED: 'Only a confirmed booking can be cancelled.',
      HOLD_GONE: 'That booking no longer exists.',
      NOT_HOLD_OWNER: 'This server does not let the operator cancel players’ bookings yet.',
      CANCEL_CUTOFF: 'It is too close to the start to cancel this booking.',
      PAYLOAD_TOO_LARGE: 'That is too large to send: fewer opening times or closures, please.',
    });
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
      st.rooms = (await api('GET', '/rooms')).rooms || [];
      // Check the token on an operator route that reads only: a room's day sheet (401/403 for a
      // token not accepted; a room that does not exist is 404, after the token was accepted).
      const refused = (e) => e.code === 'UNAUTHENTICATED' || e.code === 'OPERATOR_ONLY' || e.status === 401 || e.status === 403;
      const probe = st.rooms.length ? st.rooms[0].room_id : 'sign-in-check';
      try {
        await api('GET', `/rooms/${enc(probe)}/bookings`);
      } catch (e) {
        if (refused(e)) throw e;
      }
    } catch (e) {
      st.token = '';
      keep(sessionStorage, 'er.op', null);
      say(e.code === 'OPERATOR_ONLY' || e.code === 'UNAUTHENTICATED' ? 'That operator token was not accepted. Please check it and try again.' : sentence(e), true);
      $('#op-token').focus();
      return;
    }
    keep(sessionStorage, 'er.op', token);
    $('#signin').hidden = true;
    $('#app').hidden = false;
    say('Signed in. Choose a room to edit, or create a new one.');
    fillRooms();
    const saved = keep(sessionStorage, 'er.op.room');
    await pickRoom(st.rooms.some((r) => r.room_id === saved) ? saved : (st.rooms[0] || {}).room_id || '');
    $('#room-h').setAttribute('tabindex', '-1');
    $('#room-h').focus();
  }
  function signOut(keepMsg) {
    st.token = '';
    keep(sessionStorage, 'er.op', null);
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
      st.rooms = (await api('GET', '/rooms')).rooms || [];
      fillRooms();
    } catch (e) { fail(e, 'Could not load the rooms:'); }
  }

  async function pickRoom(id) {
    const seq = ++st.pickSeq;
    $('#room-pick').value = id;
    keep(sessionStorage, 'er.op.room', id || null);
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
    try { room = await api('GET', `/rooms/${enc(id)}`); } catch (e) { if (!room) { fail(e); return; } }
    if (seq !== st.pickSeq) return;
    st.room = room;
    $('#f-room_id').value = room.room_id;
    $('#f-room_id').readOnly = true;
    $('#f-name').value = room.name;
    $('#f-time_zone').value = room.time_zone;
    for (const k of NUMS) $(`#f-${k}`).value = room[k] == null ? '' : room[k];
    let sched = null;
    try {
      sched = await api('GET', `/rooms/${enc(id)}/schedule`);
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
      const r = await ER.request('PUT', `/rooms/${enc(id)}`, body);
      const wasNew = !st.room || st.room.room_id !== id;
      st.room = r.data;
      await reloadRooms();
      $('#room-pick').value = id;
      keep(sessionStorage, 'er.op.room', id);
      $('#f-room_id').readOnly = true;
      // The schedule form is left as it is: it may hold what the operator is about to publish.
      if (wasNew) {
        $('#sheet-date').value = todayIn(st.room.time_zone);
        loadSheet();
      }
      previewSoon(0);
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
      el('p', { class: 'row' }, el('button', { type: 'button', class: 'remove', on: { click: () => { fs.remove(); renumber(); previewSoon(); } } }, `Remove opening times ${n}`)));
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
        el('div', { class: 'field' }, el('label', { for: `cr-${u}` }, 'Reason (staff only)'), el('input', { id: `cr-${u}`, class: 'c-reason', value: (c && c.reason) || '', maxlength: '200' }))),
      el('p', { class: 'row' }, el('button', { type: 'button', class: 'remove', on: { click: () => { fs.remove(); renumber(); previewSoon(); } } }, `Remove closure ${n}`)));
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
    previewSoon(0);
  }

  // The schedule as the form has it: the body of PUT /rooms/{room_id}/schedule. Nothing is judged
  // here: the server says what is wrong with it (422), in the preview and on publishing.
  function readSchedule() {
    const weekly = [];
    for (const fs of $('#weekly').children) {
      const days = [...fs.querySelectorAll('.day-cb')].filter((c) => c.checked).map((c) => c.value);
      const starts = fs.querySelector('.starts').value.split(/[\s,;]+/).filter(Boolean)
        .map((t) => (/^\d:\d\d$/.test(t) ? `0${t}` : t));
      if (days.length || starts.length) weekly.push({ days, starts });
    }
    const closed = [];
    for (const fs of $('#closed').children) {
      const from = fs.querySelector('.c-from').value;
      const to = fs.querySelector('.c-to').value || from;
      const reason = fs.querySelector('.c-reason').value.trim();
      if (from || reason) closed.push({ from, to, reason });
    }
    return { weekly, closed };
  }

  // ---- preview: the server's answer, shown per local day ----------------------------------------------
  // What publishing would do to each slot of the window (preview-contract: change), in words.
  const CHANGE = { CREATE: 'new', KEEP: '', MOVE: 'moved', REMOVE: 'removed', SKIP: 'not made: overlaps a held or booked game' };
  const STAYS = ['CREATE', 'KEEP', 'MOVE']; // the changes after which the slot is offered

  // Ask the server again once the form has been still for a moment.
  function previewSoon(delay = 300) {
    clearTimeout(st.previewTimer);
    st.previewTimer = setTimeout(loadPreview, delay);
  }
  function previewNote(text, bad) {
    const sum = $('#preview-sum');
    $('#preview').textContent = '';
    sum.textContent = text;
    for (const k of Object.keys(sum.dataset)) delete sum.dataset[k];
    if (bad) sum.dataset.kind = 'error';
  }
  async function loadPreview() {
    const seq = ++st.previewSeq;
    const room = st.room;
    if (!room) { previewNote('Save the room to preview its schedule.'); return; }
    const body = readSchedule();
    let p;
    try {
      p = await api('POST', `/rooms/${enc(room.room_id)}/schedule/preview?days=${PREVIEW_DAYS}`, body);
    } catch (e) {
      if (seq !== st.previewSeq) return;
      previewNote(`No preview: ${sentence(e)}`, true);
      if (e.code === 'UNAUTHENTICATED' || e.code === 'OPERATOR_ONLY') fail(e);
      return;
    }
    if (seq !== st.previewSeq || room !== st.room) return;
    renderPreview(p, body.closed);
  }

  function renderPreview(p, closed) {
    const tz = p.time_zone || roomZone();
    const dateOf = (ms) => ER.dateStr(ER.zoneParts(ms, tz));
    const days = new Map(); // every local date of the window, those without games too
    const from = Date.parse(p.from);
    const to = Date.parse(p.to);
    for (let ds = dateOf(from); ds <= dateOf(to - 1); ds = addDays(ds, 1)) days.set(ds, []);
    const slots = Array.isArray(p.slots) ? p.slots : [];
    for (const s of slots) {
      const ds = localOf(s, tz).date;
      if (!days.has(ds)) days.set(ds, []);
      days.get(ds).push(s);
    }
    const list = $('#preview');
    list.textContent = '';
    for (const [ds, day] of days) list.append(previewDay(ds, day, closed, tz));
    const n = counts(slots);
    const sum = $('#preview-sum');
    delete sum.dataset.kind;
    Object.assign(sum.dataset, { total: n.games, create: n.CREATE, keep: n.KEEP, move: n.MOVE,
      remove: n.REMOVE, skip: n.SKIP, planned: p.planned, from: p.from, to: p.to });
    sum.textContent = `From now to ${whenLocal(p.to, tz)} (${tz}): ${plural(n.games, 'game')} after publishing`
      + ` (${n.CREATE} new, ${n.MOVE} moved, ${n.KEEP} kept); ${n.REMOVE} removed, ${n.SKIP} not made.`
      + ` In all the schedule plans ${plural(p.planned || 0, 'game')}, up to ${st.room.max_advance_days || 60} days ahead.`;
  }
  function counts(slots) {
    const n = { CREATE: 0, KEEP: 0, MOVE: 0, REMOVE: 0, SKIP: 0, games: 0 };
    for (const s of slots) {
      n[s.change] = (n[s.change] || 0) + 1;
      if (STAYS.includes(s.change)) n.games += 1;
    }
    return n;
  }
  function previewDay(ds, day, closed, tz) {
    const n = counts(day);
    const li = el('li', { 'data-date': ds, 'data-games': n.games, 'data-create': n.CREATE, 'data-keep': n.KEEP,
      'data-move': n.MOVE, 'data-remove': n.REMOVE, 'data-skip': n.SKIP }, el('span', { class: 'pd' }, shortDate(ds)));
    const closure = closed.find((c) => c.from <= ds && ds <= c.to);
    if (!day.length) {
      li.append(closure ? `closed${closure.reason ? ` (${closure.reason})` : ''}` : 'no games');
      return li;
    }
    if (closure && !n.games) li.append(`closed${closure.reason ? ` (${closure.reason})` : ''}: `);
    day.forEach((s, i) => {
      const kept = s.change === 'KEEP' && s.status !== 'FREE' ? `${s.status === 'BOOKED' ? 'booked' : 'held'}, kept` : '';
      const what = kept || (s.change in CHANGE ? CHANGE[s.change] : s.change);
      li.append(i ? ', ' : '', el('span', { class: `g g-${String(s.change).toLowerCase()}`, 'data-change': s.change,
        'data-status': s.status, 'data-start': s.start_time, 'data-slot': s.slot_id },
      el('span', { class: 'gt' }, localOf(s, tz).time), what ? ` ${what}` : ''));
    });
    return li;
  }

  async function publish(ev) {
    ev.preventDefault();
    if (!st.room) { say('Save the room first, then publish its schedule.', true); return; }
    const id = st.room.room_id;
    const out = $('#sched-result');
    out.textContent = '';
    try {
      const r = await api('PUT', `/rooms/${enc(id)}/schedule`, readSchedule());
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
      previewSoon(0);
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
      // The whole day, page after page (cancelled bookings included).
      const q = new URLSearchParams({ from, to, limit: '200' });
      let all = [];
      for (let page = 0; page < 50; page++) {
        const r = await api('GET', `/rooms/${enc(room.room_id)}/bookings?${q}`);
        if (st.room !== room || seq !== st.sheetSeq) return;
        all = all.concat(Array.isArray(r.bookings) ? r.bookings : []);
        if (!r.next_cursor) break;
        q.set('cursor', r.next_cursor);
      }
      st.sheet = all;
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
      const started = Date.parse(b.start_time) <= now();
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
    $('#sched-form').addEventListener('input', () => previewSoon());
    $('#sched-form').addEventListener('change', () => previewSoon());
    $('#add-week').addEventListener('click', () => { weekRow(null); $('#weekly').lastElementChild.querySelector('input').focus(); });
    $('#add-closure').addEventListener('click', () => { closureRow(null); $('#closed').lastElementChild.querySelector('input').focus(); });
    $('#sheet-form').addEventListener('submit', loadSheet);
    if (st.token) signIn(st.token); else $('#op-token').focus();
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
