// The manage link's page, /booking/{reference}#key={manage_key}: the booking in the venue's local
// time (with the zone's name), and its cancellation. The key is read from the URL's fragment,
// which the browser never sends to a server; it goes only to the API, as the bearer of
// GET /bookings/{reference} and POST /bookings/{reference}/cancel.
'use strict';
(() => {
  const { $, el, enc, api, say, sentence, dateStr, hm, zoneParts, dayName, monthName } = ER;
  const reference = decodeURIComponent(location.pathname.replace(/^\/booking\//, '').replace(/\/$/, ''));
  const key = new URLSearchParams(location.hash.replace(/^#/, '')).get('key') || '';
  ER.useToken((method, path) => (path.startsWith('/bookings/') ? key : ''));
  const own = {
    BOOKING_NOT_FOUND: 'This link does not open a booking. Please check that you copied the whole link.',
    CANCEL_CUTOFF: 'It is too close to the start to cancel online. Please contact the venue.',
    SLOT_STARTED: 'This game has already started, so it can no longer be cancelled.',
    UNAUTHENTICATED: 'This link does not open a booking. Please check that you copied the whole link.',
  };

  // "Monday 7 December 2026, 19:00 (Europe/Berlin)": the venue's wall clock and its zone.
  function when(b) {
    const ls = typeof b.local_start === 'string' ? b.local_start : '';
    const p = ls.length >= 16
      ? { date: ls.slice(0, 10), time: ls.slice(11, 16) }
      : (() => { const z = zoneParts(Date.parse(b.start_time), b.time_zone); return { date: dateStr(z), time: hm(z) }; })();
    return `${dayName(p.date)} ${+p.date.slice(8, 10)} ${monthName(p.date)} ${p.date.slice(0, 4)}, ${p.time} (${b.time_zone})`;
  }

  function render(b) {
    $('#b-reference').textContent = b.reference;
    const cancelled = b.status === 'CANCELLED';
    const rows = [
      ['Room', b.room_name || b.room_id || ''],
      ['When', when(b)],
      ['Players', b.players ? String(b.players) : ''],
      ['Status', cancelled ? 'Cancelled' : 'Booked'],
      ['Name', b.contact ? b.contact.name : ''],
    ].filter(([, v]) => v);
    const box = $('#booking');
    box.textContent = '';
    box.append(el('dl', {}, ...rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', { id: `b-${k.toLowerCase()}` }, v)])));
    const open = !cancelled && Date.parse(b.cancel_by) > ER.now();
    $('#cancel').hidden = !open;
    $('#cancel-yes').hidden = true;
    if (!cancelled && !open) say('This booking can no longer be cancelled online. Please contact the venue.');
  }

  async function load() {
    if (!key && /^[0-9A-Za-z]{10}$/.test(reference)) {
      // The page's address without its key: the one in a booking email (the key is kept only as
      // a digest, so no email can carry it). The full link was shown when the game was booked.
      $('#booking').textContent = '';
      say(`To see or cancel booking ${reference.toUpperCase()} here, open the manage link you were shown when you booked (it ends with #key=…), or quote the reference to the venue.`, true);
      return;
    }
    if (!key || !/^[0-9A-Za-z]{10}$/.test(reference)) {
      $('#booking').textContent = '';
      say(own.BOOKING_NOT_FOUND, true);
      return;
    }
    try {
      render(await api('GET', `/bookings/${enc(reference)}`));
    } catch (e) {
      $('#booking').textContent = '';
      say(sentence(e, own), true);
    }
  }

  $('#cancel').addEventListener('click', () => {
    $('#cancel-yes').hidden = false;
    say('Cancel this booking? The time becomes free for anyone at once.');
    $('#cancel-yes').focus();
  });
  $('#cancel-yes').addEventListener('click', async () => {
    $('#cancel-yes').hidden = true;
    try {
      await api('POST', `/bookings/${enc(reference)}/cancel`);
      await load();
      say('Your booking is cancelled.');
    } catch (e) {
      say(sentence(e, own), true);
    }
  });
  load();
})();
