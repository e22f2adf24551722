// The player page: choose a room, hold a time, confirm it; my bookings. Talks only to the
// public API on the same origin (openapi.yaml is its contract) through common.js, which it
// shares with the operator view. No libraries, no build step.
'use strict';
(() => {
  const { $, el, enc, two, plural, span, uuid, keep, now, zoneParts, dateStr, zoneMidnight, addDays,
    dayName, monthName, shortDate, api, say } = ER;
  const USERS = ['u-demo', 'u-alice', 'u-bob'];
  const WINDOW_DAYS = 7;

  const st = {
    user: USERS.includes(keep(localStorage, 'er.user')) ? keep(localStorage, 'er.user') : 'u-demo',
    token: keep(sessionStorage, 'er.token') || '',
    rooms: [], room: null, players: 2, day0: 0,
    slots: [], cells: new Map(), slotKey: '', seq: 0, mineSeq: 0, mine: [],
    active: null, booked: null, busy: false, timer: 0, warned: false,
    // What the player typed as their contact (kept across re-renders of the hold box).
    contact: { name: '', email: '', phone: '' },
    asking: '', cutoffHit: new Set(), recheck: 0,
    // GET /service: how players are identified (`trusted`, `guest`, `jwt`) and the caps.
    service: { player_auth: '', max_live_holds_per_player: 0, max_upcoming_bookings_per_player: 0 },
  };
  const guest = () => st.service.player_auth === 'guest';
  // The token (a guest's pass, or a JWT) on every request but the two that take none here.
  ER.useToken((method, path) => (path === '/service' || path === '/players' ? '' : st.token));

  // ---- dates: the venue's wall clock (common.js), in the words of this page ----------------------
  const tz = () => (st.room && st.room.time_zone) || 'UTC';
  const today = () => ER.todayIn(tz());
  function longDate(ds) {
    const t = today();
    const base = `${dayName(ds)} ${+ds.slice(8, 10)} ${monthName(ds)}`;
    if (ds === t) return `Today, ${base}`;
    if (ds === addDays(t, 1)) return `Tomorrow, ${base}`;
    return base;
  }
  const localOf = (s, zone) => ER.localOf(s, zone || tz());

  // ---- errors as sentences: the player's wording (common.js has the shared ones) -----------------
  // ctx.room gives the room's rules where they matter.
  function sentence(e, ctx) {
    const room = (ctx && ctx.room) || st.room;
    // A pass the service no longer accepts (its key was dropped): the next visit gets a new one.
    if (guest() && e.code === 'UNAUTHENTICATED') keep(localStorage, 'er.guest', null);
    return ER.sentence(e, {
      SLOT_UNAVAILABLE: 'Sorry, someone else has just held or booked this time. Please pick another one.',
      SLOT_STARTED: 'This game has already started, so it can no longer be held, booked or cancelled.',
      SLOT_NOT_FOUND: 'This time is no longer offered. The list of times has been refreshed.',
      TOO_LATE_TO_BOOK: `This game starts too soon to book online${room && room.min_notice_minutes ? `: booking closes ${span(room.min_notice_minutes)} before each game` : ''}. Please pick a later time.`,
      HOLD_GONE: 'Your hold has run out or was given up, so the time is free again for anyone. Pick it again if it is still free.',
      HOLD_CONFIRMED: 'This hold is already a confirmed booking.',
      HOLD_RELEASED: 'This hold was given up, so it cannot be extended.',
      HOLD_NOT_CONFIRMED: 'Only a confirmed booking can be cancelled; a hold that is not confirmed simply runs out.',
      EXTENSION_USED: 'You have already used the one extension this hold allows. Please confirm or release it.',
      CANCEL_CUTOFF: `It is too close to the start to cancel online${room && room.cancel_cutoff_minutes ? `: bookings for ${room.name} can be cancelled up to ${span(room.cancel_cutoff_minutes)} before the game` : ''}. Please contact the venue.`,
      NOT_HOLD_OWNER: 'That hold belongs to another player.',
      USER_NOT_FOUND: `The venue does not know the player “${st.user}”. Please choose another player.`,
      ROOM_NOT_FOUND: 'This room is no longer offered. Please choose another room.',
      HOLD_NOT_FOUND: 'That hold could not be found.',
      IDENTITY_MISMATCH: guest()
        ? 'This browser’s booking pass belongs to another player. Reload the page to continue with your own.'
        : `Your sign-in token is not for “${st.user}”. Choose the player the token belongs to, or use another token.`,
      OPERATOR_ONLY: 'Only the venue’s staff may do that.',
      UNAUTHENTICATED: guest()
        ? 'The booking service no longer accepts this browser’s booking pass (it may have run out). Reload the page to get a new one.'
        : 'Please sign in: the booking service did not accept the request without a valid sign-in token.',
      HOLD_LIMIT: () => {
        const n = st.service.max_live_holds_per_player;
        return `You already hold ${n ? plural(n, 'time') : 'as many times as one player may'}, the most one player may hold at once. Confirm or release one first (My bookings).`;
      },
      CONTACT_REQUIRED: 'The venue needs your name and email to book: please fill them in under “Your contact”.',
      BOOKING_LIMIT: () => {
        const n = st.service.max_upcoming_bookings_per_player;
        return `You already have ${n ? plural(n, 'upcoming booking') : 'as many upcoming bookings as one player may'}, the most one player may have. Cancel one to confirm this hold.`;
      },
    });
  }

  // A refusal that names the room's rules (notice, cut-off) is worded with the rules as they are
  // now: the venue may have changed them since this page read them.
  async function freshRules(e, room) {
    if (!room || (e.code !== 'TOO_LATE_TO_BOOK' && e.code !== 'CANCEL_CUTOFF')) return room;
    try {
      const fresh = await api('GET', `/rooms/${enc(room.room_id)}`);
      for (const k of ['min_notice_minutes', 'cancel_cutoff_minutes']) room[k] = fresh[k] || 0;
      if (room === st.room) renderNote();
    } catch (e2) { /* worded with the rules this page has */ }
    return room;
  }

  // ---- rooms and party size ------------------------------------------------------------------
  async function loadRooms() {
    const box = $('#rooms');
    try {
      const r = await api('GET', '/rooms');
      st.rooms = Array.isArray(r.rooms) ? r.rooms : [];
    } catch (e) {
      box.textContent = '';
      box.append(el('p', { class: 'note' }, sentence(e)),
        el('button', { type: 'button', on: { click: loadRooms } }, 'Try again'));
      return;
    }
    if (!st.rooms.length) {
      box.textContent = '';
      box.append(el('p', { class: 'note' }, 'The venue has no rooms to book yet.'));
      return;
    }
    const saved = keep(localStorage, 'er.room');
    selectRoom(st.rooms.find((x) => x.room_id === saved) || st.rooms[0], false);
  }

  function renderRooms() {
    const box = $('#rooms');
    const focused = document.activeElement && document.activeElement.dataset && document.activeElement.dataset.room;
    box.textContent = '';
    for (const r of st.rooms) {
      const players = r.min_players === r.max_players ? `${r.max_players} players` : `${r.min_players}–${r.max_players} players`;
      const b = el('button', { type: 'button', class: 'room', 'data-room': r.room_id,
        'aria-pressed': String(st.room === r), on: { click: () => selectRoom(r, true) } },
      el('span', { class: 'rn' }, r.name),
      el('span', { class: 'rm' }, `${players} · ${r.duration_minutes}-minute game`));
      box.append(b);
      if (focused === r.room_id) b.focus();
    }
  }

  function selectRoom(r, byUser) {
    const changed = !st.room || st.room.room_id !== r.room_id;
    st.room = r;
    keep(localStorage, 'er.room', r.room_id);
    renderRooms();
    if (changed) {
      st.players = Math.min(Math.max(st.players, r.min_players), r.max_players);
      if (!byUser) st.players = r.min_players;
      st.day0 = 0; st.slotKey = ''; st.slots = [];
      $('#days').textContent = '';
      renderParty();
      renderNote();
      loadSlots();
      if (byUser) say(`${r.name}: showing its times.`);
    }
  }

  function renderNote() {
    const r = st.room;
    const zoneText = r.time_zone === 'UTC' ? 'UTC' : r.time_zone.replace(/_/g, ' ');
    const notice = r.min_notice_minutes ? ` Online booking closes ${span(r.min_notice_minutes)} before each game.` : '';
    $('#tz-note').textContent = `Times are the venue's local time (${zoneText}).${notice}`;
  }

  function renderParty() {
    const r = st.room;
    $('#players').textContent = String(st.players);
    if (!r) return;
    $('#fewer').setAttribute('aria-disabled', String(st.players <= r.min_players));
    $('#more').setAttribute('aria-disabled', String(st.players >= r.max_players));
    $('#party-hint').textContent = r.min_players === r.max_players
      ? `${r.name} is played by exactly ${r.max_players}.`
      : `${r.name} takes ${r.min_players} to ${r.max_players} players.`;
  }
  function party(d) {
    const r = st.room;
    if (!r) return;
    const n = st.players + d;
    if (n < r.min_players || n > r.max_players) return;
    st.players = n;
    renderParty();
  }

  // ---- the slots -------------------------------------------------------------------------------
  function windowBounds() {
    const t = today();
    const start = addDays(t, st.day0);
    const end = addDays(t, st.day0 + WINDOW_DAYS);
    const from = st.day0 === 0 ? now() : zoneMidnight(start, tz());
    const to = zoneMidnight(end, tz());
    return { from, to, start, last: addDays(end, -1) };
  }

  async function loadSlots() {
    const r = st.room;
    if (!r) return;
    const seq = ++st.seq;
    const w = windowBounds();
    $('#range').textContent = `${shortDate(w.start)} – ${shortDate(w.last)}`;
    $('#prev').setAttribute('aria-disabled', String(st.day0 === 0));
    $('#next').setAttribute('aria-disabled', String(st.day0 + WINDOW_DAYS >= (r.max_advance_days || 60) + 1));
    const q = new URLSearchParams({ room_id: r.room_id, user_id: st.user, limit: '200',
      from: new Date(w.from).toISOString(), to: new Date(w.to).toISOString() });
    let all = [];
    try {
      for (let page = 0; page < 10; page++) {
        const a = await api('GET', `/slots?${q}`);
        all = all.concat(Array.isArray(a.slots) ? a.slots : []);
        if (!a.next_cursor) break;
        q.set('cursor', a.next_cursor);
      }
    } catch (e) {
      if (seq !== st.seq) return;
      if (e.code === 'ROOM_NOT_FOUND') { loadRooms(); }
      say(`Could not load the times: ${sentence(e)}`, true);
      return;
    }
    if (seq !== st.seq || r.room_id !== st.room.room_id) return;
    st.slots = all;
    renderSlots();
    adoptHeld();
  }

  const LABEL = { AVAILABLE: 'Free', HELD_BY_ME: 'Held by you', HELD_BY_OTHER: 'Held', BOOKED: 'Booked',
    PAST: 'Past', CLOSED: 'Closed' };

  function renderSlots() {
    const box = $('#days');
    const key = `${st.room.room_id}|${st.slots.map((s) => s.slot_id).join(',')}`;
    let soon = false;
    if (key !== st.slotKey) {
      const a = document.activeElement;
      const focused = a && a.dataset ? a.dataset.slot : '';
      st.slotKey = key;
      st.cells = new Map();
      box.textContent = '';
      if (!st.slots.length) {
        box.append(el('p', { class: 'empty note' }, 'No games on these days. Try later days or another room.'));
      }
      let day = '';
      let cells = null;
      for (const s of st.slots) {
        const l = localOf(s);
        if (l.date !== day) {
          day = l.date;
          const hid = `d-${day}`;
          cells = el('div', { class: 'cells', role: 'group', 'aria-labelledby': hid });
          box.append(el('section', { class: 'day', 'data-date': day }, el('h3', { id: hid }, longDate(day)), cells));
        }
        const b = el('button', { type: 'button', class: 'slot', 'data-slot': s.slot_id,
          'data-date': l.date, 'data-time': l.time, on: { click: () => onSlot(s.slot_id) } },
        el('span', { class: 't' }, l.time), el('span', { class: 'st' }, ''));
        st.cells.set(s.slot_id, b);
        cells.append(b);
      }
      if (focused && st.cells.has(focused)) st.cells.get(focused).focus();
    }
    for (const s of st.slots) {
      paintSlot(st.cells.get(s.slot_id), s);
      if (s.status === 'HELD_BY_ME' && Date.parse(s.expires_at) <= now()) soon = true;
    }
    // A hold the server still counts while this clock says it is over: look again shortly.
    if (soon && !st.recheck) st.recheck = setTimeout(() => { st.recheck = 0; loadSlots(); }, 1000);
  }

  function paintSlot(b, s, label) {
    const l = localOf(s);
    const text = label || LABEL[s.status] || s.status;
    const usable = s.status === 'AVAILABLE' || s.status === 'HELD_BY_ME';
    b.dataset.status = s.status;
    b.className = `slot s-${s.status.toLowerCase()}`;
    b.querySelector('.st').textContent = text;
    b.disabled = !usable;
    b.setAttribute('aria-label', `${l.time} ${text}, ${longDate(l.date)}`);
    if (s.status === 'CLOSED') b.title = 'Too close to the start to book online';
    else b.removeAttribute('title');
  }

  function onSlot(id) {
    const s = st.slots.find((x) => x.slot_id === id);
    if (!s) return;
    if (s.status === 'HELD_BY_ME') {
      if (!st.active || st.active.hold_id !== s.hold_id) activate(fromSlot(s));
      const c = $('#confirm');
      if (c) c.focus();
      return;
    }
    if (s.status === 'AVAILABLE') hold(s);
  }

  function fromSlot(s) {
    const l = localOf(s);
    return { hold_id: s.hold_id, slot_id: s.slot_id, room: st.room, date: l.date, time: l.time,
      expires: Date.parse(s.expires_at), players: s.players || null, extended: null };
  }

  // A hold shown by the listing (after a reload, say) becomes the hold panel's if it has none.
  function adoptHeld() {
    if (st.active) return;
    let best = null;
    for (const s of st.slots) {
      if (s.status === 'HELD_BY_ME' && Date.parse(s.expires_at) > now()
        && (!best || Date.parse(s.expires_at) > Date.parse(best.expires_at))) best = s;
    }
    if (best) activate(fromSlot(best));
  }

  async function lookUp(a) {
    try {
      const h = await api('GET', `/holds/${enc(a.hold_id)}?user_id=${enc(st.user)}`);
      if (st.active !== a) return;
      a.extended = !!h.extended;
      if (h.players) a.players = h.players;
      if (h.expires_at) a.expires = Date.parse(h.expires_at);
      renderHold();
    } catch (e) { /* the panel works without it */ }
  }

  // ---- the hold ----------------------------------------------------------------------------------
  async function hold(s) {
    if (st.busy) return;
    const l = localOf(s);
    const room = st.room;
    const players = st.players;
    st.busy = true;
    paintSlot(st.cells.get(s.slot_id), s, 'Holding…');
    say(`Holding ${l.time} on ${shortDate(l.date)}…`);
    const key = uuid();
    const body = { slot_id: s.slot_id, user_id: st.user, players };
    try {
      let h;
      try {
        h = await api('POST', '/holds', body, { 'Idempotency-Key': key });
      } catch (e) {
        if (e.code !== 'NETWORK' && e.code !== 'SERVICE_UNAVAILABLE' && e.code !== 'IDEMPOTENCY_KEY_IN_USE') throw e;
        await new Promise((ok) => setTimeout(ok, 1000));
        h = await api('POST', '/holds', body, { 'Idempotency-Key': key }); // same key: safe to retry
      }
      const a = { hold_id: h.hold_id, slot_id: s.slot_id, room, date: l.date, time: l.time,
        expires: Date.parse(h.expires_at), players: h.players || players, extended: false };
      st.booked = null;
      activate(a);
      const left = Math.max(1, Math.round((a.expires - now()) / 1000));
      say(`Held ${l.time} on ${shortDate(l.date)} for you. Confirm within ${left >= 120 ? `${Math.round(left / 60)} minutes` : plural(left, 'second')} to book it.`);
      const c = $('#confirm');
      if (c) c.focus();
    } catch (e) {
      say(sentence(e, { room: await freshRules(e, room) }), true);
    } finally {
      st.busy = false;
      loadSlots();
      loadMine();
    }
  }

  function activate(a) {
    st.active = a;
    st.warned = false;
    renderHold();
    if (a.extended === null) lookUp(a);
  }

  function renderHold() {
    const body = $('#hold-body');
    body.textContent = '';
    const a = st.active;
    clearInterval(st.timer);
    st.timer = 0;
    if (a) {
      const who = a.players ? ` · ${a.players} players` : '';
      body.append(
        el('p', { class: 'what' }, el('strong', {}, a.room ? a.room.name : ''), ` · ${shortDate(a.date)} · ${a.time}${who}`),
        el('p', { class: 'timer', id: 'timer', role: 'timer' }, ''),
        contactForm(),
        el('div', { class: 'acts' },
          el('button', { type: 'button', id: 'confirm', class: 'primary', on: { click: confirmHold } }, 'Confirm booking'),
          el('button', { type: 'button', id: 'extend', 'aria-disabled': String(!!a.extended), on: { click: extendHold } },
            a.extended ? 'Extended' : 'Extend'),
          el('button', { type: 'button', id: 'release', on: { click: releaseHold } }, 'Release')));
      tick();
      st.timer = setInterval(tick, 250);
    } else if (st.booked) {
      const b = st.booked;
      body.append(el('p', { class: 'what done' }, el('strong', {}, 'Booked: '),
        `${b.room ? b.room.name : ''}, ${shortDate(b.date)} at ${b.time}${b.players ? ` for ${b.players} players` : ''}.`));
      if (b.reference) body.append(el('p', { class: 'ref' }, 'Reference ', el('strong', { id: 'reference' }, b.reference)));
      if (b.link) {
        body.append(el('p', { class: 'manage' }, 'Keep this link to see or cancel your booking later (it is shown only now): ',
          el('a', { id: 'manage-link', href: b.link, rel: 'noreferrer' }, 'Manage your booking')));
      }
      if (b.reference && b.key) {
        body.append(el('div', { class: 'acts' },
          el('button', { type: 'button', id: 'add-to-calendar', on: { click: addToCalendar } }, 'Add to calendar')));
      }
    } else {
      body.append(el('p', { class: 'what idle' }, 'No hold yet. Pick a free time to hold it for a few minutes while you confirm.'));
    }
  }

  function tick() {
    const a = st.active;
    const t = $('#timer');
    if (!a || !t) return;
    const left = a.expires - now();
    if (left <= 0) { expired(a); return; }
    const secs = Math.ceil(left / 1000);
    t.textContent = `${Math.floor(secs / 60)}:${two(secs % 60)} left to confirm`;
    t.classList.toggle('low', secs <= 30);
    if (secs === 60 && !st.warned) { st.warned = true; say('One minute left to confirm your hold.'); }
  }

  function expired(a) {
    if (st.active !== a) return;
    st.active = null;
    renderHold();
    say(`Your hold on ${a.time}, ${shortDate(a.date)} ran out, so that time is free again for anyone. Pick it again if you still want it.`);
    if (document.activeElement === document.body || !document.activeElement) $('#hold-h').focus();
    loadSlots();
    loadMine();
  }

  function lost(a, e) {
    if (['HOLD_GONE', 'SLOT_STARTED', 'NOT_HOLD_OWNER', 'HOLD_RELEASED', 'HOLD_CONFIRMED'].includes(e.code) && st.active === a) {
      st.active = null;
      renderHold();
      $('#hold-h').focus();
    }
    say(sentence(e, a), true);
  }

  // The contact fields of the hold box: required in guest mode (the venue knows nothing else of a
  // guest), optional otherwise; what was typed survives the box being drawn again.
  function contactForm() {
    const field = (id, key, label, type, required, auto) => el('p', { class: 'field' },
      el('label', { for: id }, label),
      el('input', { id, type, value: st.contact[key], required, autocomplete: auto, maxlength: key === 'name' ? 100 : 254,
        on: { input: (ev) => { st.contact[key] = ev.target.value; } } }));
    const need = guest();
    return el('details', { class: 'contact', open: need },
      el('summary', {}, need ? 'Your contact (needed to book)' : 'Your contact (optional)'),
      field('c-name', 'name', 'Name', 'text', need, 'name'),
      field('c-email', 'email', 'Email', 'email', need, 'email'),
      field('c-phone', 'phone', 'Phone, with country code (optional)', 'tel', false, 'tel'));
  }

  // The contact to send: none when name and email are both empty (the service asks for one in
  // guest mode and says so).
  function contactOf() {
    const c = { name: st.contact.name.trim(), email: st.contact.email.trim() };
    if (!c.name && !c.email) return undefined;
    if (st.contact.phone.trim()) c.phone = st.contact.phone.trim().replace(/[\s()-]/g, '');
    return c;
  }

  async function confirmHold() {
    const a = st.active;
    if (!a || st.busy) return;
    st.busy = true;
    try {
      const body = { user_id: st.user };
      const contact = contactOf();
      if (contact) body.contact = contact;
      const done = await api('POST', `/holds/${enc(a.hold_id)}/confirm`, body);
      a.reference = done.reference;
      // The key stays in this page's memory only: "Add to calendar" sends it as the bearer.
      a.key = done.manage_key || '';
      // The manage link: the service's (PUBLIC_BASE_URL), else this page's origin; the key goes
      // in the fragment, which the browser never sends to a server.
      a.link = done.manage_url || (done.reference && done.manage_key
        ? `${location.origin}/booking/${enc(done.reference)}#key=${enc(done.manage_key)}` : '');
      st.active = null;
      st.booked = a;
      renderHold();
      say(`Booked! ${a.room ? a.room.name : 'Your game'}, ${longDate(a.date)} at ${a.time}${a.players ? ` for ${a.players} players` : ''}. You find it under My bookings.`);
      $('#hold-h').focus();
    } catch (e) {
      lost(a, e);
    } finally {
      st.busy = false;
      loadSlots();
      loadMine();
    }
  }

  // "Add to calendar": the booking's booking.ics, fetched with its manage key as the bearer (the
  // key never goes into a URL), saved as a file the player's calendar opens.
  async function addToCalendar() {
    const b = st.booked;
    if (!b || !b.reference || !b.key) return;
    try {
      const res = await fetch(`/bookings/${enc(b.reference)}/booking.ics`, {
        headers: { Accept: 'text/calendar', Authorization: `Bearer ${b.key}` }, cache: 'no-store' });
      if (!res.ok) throw new Error(String(res.status));
      const url = URL.createObjectURL(await res.blob());
      const link = el('a', { href: url, download: 'booking.ics', hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
      say('Saved booking.ics: open it to add the game to your calendar.');
    } catch (e) {
      say('Could not get the calendar file. Please try again in a moment.', true);
    }
  }

  async function extendHold() {
    const a = st.active;
    if (!a || st.busy) return;
    if (a.extended) { say('You have already used the one extension this hold allows. Please confirm or release it.'); return; }
    st.busy = true;
    try {
      const h = await api('POST', `/holds/${enc(a.hold_id)}/extend`, { user_id: st.user });
      a.expires = Date.parse(h.expires_at);
      a.extended = true;
      renderHold();
      const left = Math.max(1, Math.round((a.expires - now()) / 1000));
      say(`Extended: you now have ${left >= 120 ? `${Math.round(left / 60)} minutes` : plural(left, 'second')} to confirm. A hold can be extended only once.`);
      const x = $('#extend');
      if (x) x.focus();
    } catch (e) {
      if (e.code === 'EXTENSION_USED') { a.extended = true; renderHold(); }
      lost(a, e);
    } finally {
      st.busy = false;
    }
  }

  async function releaseHold() {
    const a = st.active;
    if (!a || st.busy) return;
    st.busy = true;
    try {
      await api('POST', `/holds/${enc(a.hold_id)}/release`, { user_id: st.user });
      st.active = null;
      renderHold();
      say(`Released. ${a.time} on ${shortDate(a.date)} is free again for anyone.`);
      $('#hold-h').focus();
    } catch (e) {
      lost(a, e);
    } finally {
      st.busy = false;
      loadSlots();
      loadMine();
    }
  }

  // ---- my bookings -------------------------------------------------------------------------------
  async function loadMine() {
    const seq = ++st.mineSeq;
    const user = st.user;
    try {
      // Every page of the live holds and upcoming bookings (the service pages them).
      const q = new URLSearchParams({ limit: '200' });
      let all = [];
      for (let page = 0; page < 20; page++) {
        const r = await api('GET', `/users/${enc(user)}/holds?${q}`);
        if (seq !== st.mineSeq) return;
        all = all.concat(Array.isArray(r.holds) ? r.holds : []);
        if (!r.next_cursor) break;
        q.set('cursor', r.next_cursor);
      }
      st.mine = all;
      renderMine();
    } catch (e) {
      if (seq !== st.mineSeq) return;
      const box = $('#mine');
      box.textContent = '';
      box.append(el('li', { class: 'note' }, `Could not load your bookings: ${sentence(e)}`));
    }
  }

  function roomOf(id) { return st.rooms.find((r) => r.room_id === id) || null; }

  function renderMine() {
    const box = $('#mine');
    const a = document.activeElement;
    const inMine = a && a.closest ? a.closest('#mine li[data-hold]') : null;
    const refocus = inMine && a.classList.length ? [inMine.dataset.hold, a.classList[0]] : null;
    box.textContent = '';
    if (!st.mine.length) {
      box.append(el('li', { class: 'note' }, 'No bookings yet.'));
      return;
    }
    for (const h of st.mine) {
      const room = roomOf(h.room_id);
      const l = localOf(h, room ? room.time_zone : 'UTC');
      const booked = h.status === 'CONFIRMED';
      const li = el('li', { class: `bk ${booked ? 'b-booked' : 'b-held'}`, 'data-hold': h.hold_id, 'data-slot': h.slot_id },
        el('p', { class: 'bk-what' }, el('strong', {}, room ? room.name : h.room_id), ` ${shortDate(l.date)}, ${l.time}`,
          h.players ? ` · ${h.players} players` : '', ' ', el('span', { class: 'badge' }, booked ? 'Booked' : 'On hold')));
      if (booked) {
        const start = Date.parse(h.start_time);
        const cm = room ? room.cancel_cutoff_minutes || 0 : 0;
        const deadline = start - cm * 60000;
        let can = now() < deadline;
        if (st.cutoffHit.has(h.hold_id)) {
          can = false;
          li.append(el('p', { class: 'cut' }, `Too close to the start to cancel online${cm ? ` (bookings can be cancelled up to ${span(cm)} before the game)` : ''}. Please contact the venue.`));
        } else if (cm && can) {
          const p = zoneParts(deadline, room.time_zone);
          li.append(el('p', { class: 'cut' }, `You can cancel online until ${shortDate(dateStr(p))}, ${two(p.h)}:${two(p.mi)} (${span(cm)} before the game).`));
        } else if (cm) {
          li.append(el('p', { class: 'cut' }, `Online cancellation closed ${span(cm)} before the game. Please contact the venue.`));
        }
        if (can && st.asking === h.hold_id) {
          li.append(el('p', { class: 'ask' }, 'Cancel this booking? The time becomes free for others at once.'),
            el('div', { class: 'acts' },
              el('button', { type: 'button', class: 'cancel-yes danger', on: { click: () => cancelBooking(h, room) } }, 'Yes, cancel it'),
              el('button', { type: 'button', class: 'cancel-no', on: { click: () => { st.asking = ''; renderMine(); focusIn(h.hold_id, '.cancel'); } } }, 'Keep it')));
        } else if (can) {
          li.append(el('div', { class: 'acts' }, el('button', { type: 'button', class: 'cancel',
            'aria-label': `Cancel the booking of ${room ? room.name : h.room_id} on ${shortDate(l.date)} at ${l.time}`,
            on: { click: () => { st.asking = h.hold_id; renderMine(); focusIn(h.hold_id, '.cancel-yes'); } } }, 'Cancel booking')));
        }
      } else {
        li.append(el('div', { class: 'acts' }, el('button', { type: 'button', class: 'continue',
          on: { click: () => continueHold(h, room, l) } }, 'Go to this hold')));
      }
      box.append(li);
    }
    if (refocus) focusIn(refocus[0], `.${refocus[1]}`);
  }
  function focusIn(holdId, sel) {
    const li = [...$('#mine').children].find((x) => x.dataset.hold === holdId);
    const b = li && li.querySelector(sel);
    if (b) b.focus();
  }

  function continueHold(h, room, l) {
    if (room && room !== st.room) selectRoom(room, true);
    activate({ hold_id: h.hold_id, slot_id: h.slot_id, room, date: l.date, time: l.time,
      expires: Date.parse(h.expires_at), players: h.players || null, extended: null });
    const c = $('#confirm');
    if (c) c.focus();
  }

  async function cancelBooking(h, room) {
    if (st.busy) return;
    st.busy = true;
    const l = localOf(h, room ? room.time_zone : 'UTC');
    try {
      await api('POST', `/holds/${enc(h.hold_id)}/cancel`, { user_id: st.user });
      st.asking = '';
      if (st.booked && st.booked.hold_id === h.hold_id) { st.booked = null; renderHold(); }
      say(`Cancelled your booking of ${room ? room.name : h.room_id} on ${shortDate(l.date)} at ${l.time}. The time is free again for others.`);
      $('#mine-h').setAttribute('tabindex', '-1');
      $('#mine-h').focus();
    } catch (e) {
      st.asking = '';
      if (e.code === 'CANCEL_CUTOFF') st.cutoffHit.add(h.hold_id);
      say(sentence(e, { room: await freshRules(e, room) }), true);
    } finally {
      st.busy = false;
      loadSlots();
      loadMine();
    }
  }

  // ---- identity ------------------------------------------------------------------------------------
  // With a JWT (the AWS deployment's authorizer) the caller is the token's `sub`: offer it as a player.
  function tokenUser(token) {
    const part = token.split('.')[1];
    if (!part) return '';
    try {
      const json = atob(part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '='));
      const sub = JSON.parse(json).sub;
      return typeof sub === 'string' && /^[A-Za-z0-9._:-]{1,64}$/.test(sub) ? sub : '';
    } catch (e) { return ''; }
  }
  function offerTokenUser() {
    const sub = st.token ? tokenUser(st.token) : '';
    const sel = $('#user');
    for (const o of [...sel.options]) if (o.dataset.token) o.remove();
    if (sub && !USERS.includes(sub)) sel.append(el('option', { value: sub, 'data-token': '1' }, sub));
    return sub;
  }

  function setUser(u) {
    st.user = u;
    keep(localStorage, 'er.user', u);
    st.active = null;
    st.booked = null;
    st.asking = '';
    renderHold();
    st.slotKey = '';
    say(`Now booking as ${u}.`);
    loadSlots();
    loadMine();
  }

  // Guest mode: this browser's booking pass (POST /players), kept in localStorage; a new one when
  // none is kept or it has run out. The player is the pass's `player_id`.
  async function guestPass() {
    let pass = null;
    try { pass = JSON.parse(keep(localStorage, 'er.guest') || 'null'); } catch (e) { pass = null; }
    const fresh = pass && typeof pass.token === 'string' && typeof pass.player_id === 'string'
      && Date.parse(pass.expires_at) > now() + 60000;
    if (!fresh) {
      pass = await api('POST', '/players', {});
      keep(localStorage, 'er.guest', JSON.stringify(pass));
    }
    st.user = pass.player_id;
    st.token = pass.token;
  }

  // How this service identifies players (GET /service): the demo user picker only in `trusted`
  // mode, the sign-in token field only with a JWT authorizer, a booking pass in `guest` mode.
  async function identify() {
    try {
      st.service = await api('GET', '/service');
    } catch (e) {
      say(`Could not reach the booking service: ${sentence(e)}`, true);
      return false;
    }
    $('.who').hidden = st.service.player_auth !== 'trusted';
    $('details.token').hidden = st.service.player_auth !== 'jwt';
    if (!guest()) return true;
    try {
      await guestPass();
    } catch (e) {
      say(`Could not start booking: ${sentence(e)}`, true);
      return false;
    }
    return true;
  }

  async function init() {
    wire();
    if (await identify()) loadRooms().then(loadMine);
  }

  function wire() {
    const sel = $('#user');
    const sub = offerTokenUser();
    if (sub && keep(localStorage, 'er.user') === sub) st.user = sub;
    sel.value = st.user;
    sel.addEventListener('change', () => setUser(sel.value));
    $('#token').value = st.token;
    $('#token-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      st.token = $('#token').value.trim();
      keep(sessionStorage, 'er.token', st.token || null);
      const who = offerTokenUser();
      if (who) { sel.value = who; setUser(who); }
      say(st.token ? `Sign-in token saved for this tab${who ? `: booking as ${who}` : ''}.` : 'No sign-in token is used.');
      loadRooms().then(() => { loadSlots(); loadMine(); });
    });
    $('#token-clear').addEventListener('click', () => {
      st.token = '';
      $('#token').value = '';
      keep(sessionStorage, 'er.token', null);
      offerTokenUser();
      if (!USERS.includes(st.user)) { sel.value = 'u-demo'; setUser('u-demo'); }
      say('Sign-in token forgotten.');
      loadSlots(); loadMine();
    });
    $('#fewer').addEventListener('click', () => party(-1));
    $('#more').addEventListener('click', () => party(1));
    $('#prev').addEventListener('click', () => {
      if (st.day0 === 0) return;
      st.day0 = Math.max(0, st.day0 - WINDOW_DAYS);
      loadSlots();
    });
    $('#next').addEventListener('click', () => {
      if (!st.room || st.day0 + WINDOW_DAYS >= (st.room.max_advance_days || 60) + 1) return;
      st.day0 += WINDOW_DAYS;
      loadSlots();
    });
    $('#refresh').addEventListener('click', () => { loadSlots(); loadMine(); });
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden) { loadSlots(); loadMine(); }
    });
    // Other players' holds come and go: look again now and then while the page is shown.
    setInterval(() => { if (!document.hidden && !st.busy && st.service.player_auth) loadSlots(); }, 20000);
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
