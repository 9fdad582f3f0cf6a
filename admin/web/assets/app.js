// The API Keys tab. Plain JavaScript, no build step, nothing from another
// origin. Every name, group and description is put in the page with
// textContent (or as a Text node), never as HTML.
'use strict';

(function () {
  const STORAGE_KEY = 'apikey-admin.key';
  const PAGE_SIZE = 20;

  const state = {
    key: '', // the administrator's API key, also in sessionStorage for this tab
    me: null, // {name, groups, owner, all_owners}
    groups: [], // [{name, description, grantable}]
    keys: new Map(), // id → key, for the current page
    cursors: [''], // cursors[i] is the cursor of page i
    page: 0,
    next: null,
    noticeTimer: 0,
    searchTimer: 0,
    copied: false, // whether the shown-once key was copied (or its loss accepted)
    refocus: null, // {id, action} of the button to focus after the next reload
  };

  const $ = (id) => document.getElementById(id);

  // The server never says which check a refused key failed; the sign-in
  // screen names every reason a key that worked can stop working.
  const NOT_ACCEPTED = 'The key you were signed in with is no longer accepted: it was deactivated, expired, ' +
    'rolled past its grace period or deleted. Sign in with a key that works.';

  // The administrator's time zone: a date chosen in the page means the end
  // of that day there.
  const ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || 'local time';

  // endOfDay returns the RFC 3339 time of the last millisecond of the day
  // "YYYY-MM-DD" in the administrator's time zone.
  function endOfDay(day) {
    const [y, m, d] = day.split('-').map(Number);
    return new Date(y, m - 1, d, 23, 59, 59, 999).toISOString();
  }

  // localDay is the inverse for the date inputs: the day, in the
  // administrator's time zone, of an RFC 3339 time.
  function localDay(iso) {
    const t = new Date(iso);
    const pad = (n) => String(n).padStart(2, '0');
    return t.getFullYear() + '-' + pad(t.getMonth() + 1) + '-' + pad(t.getDate());
  }

  // looksLikePreview tells a key's preview ("ak_3Fq9…x7Ab", or with
  // "...") from a name search.
  const looksLikePreview = (s) => /^[A-Za-z0-9_]+_[A-Za-z0-9]{4}(…|\.\.\.)[A-Za-z0-9]{4}$/.test(s);

  // el makes an element: props sets properties (className, textContent,
  // type, ...), except "attrs" and "dataset"; children are nodes or strings
  // (which become Text nodes).
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(props || {})) {
      if (name === 'attrs') {
        for (const [a, v] of Object.entries(value)) node.setAttribute(a, v);
      } else if (name === 'dataset') {
        Object.assign(node.dataset, value);
      } else {
        node[name] = value;
      }
    }
    node.append(...children);
    return node;
  }

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  // api calls the admin API (relative URLs: the page works under any
  // prefix) and returns the decoded JSON, or throws an ApiError whose
  // message is the server's explanation for the administrator.
  async function api(method, path, body) {
    const headers = { Accept: 'application/json' };
    if (state.key) headers.Authorization = 'Bearer ' + state.key;
    const init = { method, headers, credentials: 'same-origin', cache: 'no-store', redirect: 'error' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      throw new ApiError(0, 'network', 'The server cannot be reached. Check the connection and try again.');
    }
    if (res.status === 204) return null;
    let data = null;
    try {
      data = await res.json();
    } catch (e) {
      data = null;
    }
    if (!res.ok) {
      const detail = data && typeof data.detail === 'string' ? data.detail : 'The request failed (HTTP ' + res.status + ').';
      const err = new ApiError(res.status, (data && data.code) || '', detail);
      if (res.status === 401 && path !== 'api/me') {
        signOut(NOT_ACCEPTED);
      }
      throw err;
    }
    return data;
  }

  // Views

  function show(view) {
    for (const id of ['loading-view', 'login-view', 'keys-view']) $(id).hidden = id !== view;
    $('session').hidden = view !== 'keys-view';
  }

  function showLogin(message) {
    // Signed out, the shown-once key goes too, without a question.
    state.copied = true;
    $('created-key').textContent = '';
    for (const d of document.querySelectorAll('dialog[open]')) d.close();
    $('login-error').textContent = message || '';
    $('login-key').value = '';
    show('login-view');
    $('login-key').focus();
  }

  function signOut(message) {
    state.key = '';
    state.me = null;
    sessionStorage.removeItem(STORAGE_KEY);
    $('keys-body').replaceChildren();
    showLogin(message);
  }

  // enter loads who is acting and the groups, then the first page of keys.
  async function enter() {
    state.me = await api('GET', 'api/me');
    state.groups = (await api('GET', 'api/groups')).groups || [];
    $('whoami').textContent = state.me.name;
    // The organization whose keys this tab manages: the administrator's own.
    $('org').textContent = state.me.all_owners ? 'all organizations' : state.me.owner;
    const filter = $('filter-group');
    filter.replaceChildren(el('option', { value: '', textContent: 'All groups' }));
    for (const g of state.groups) filter.append(el('option', { value: g.name, textContent: g.name }));
    const every = state.me.last_used_interval;
    $('last-used-hint').textContent = every > 0
      ? 'Last used is recorded in batches, every ' + duration(every) + ': a use can take that long to show. Refresh to see the latest.'
      : 'Last used is recorded in batches: a use can take a while to show. Refresh to see the latest.';
    show('keys-view');
    await reload(true);
  }

  function notice(message) {
    const n = $('notice');
    n.textContent = message;
    n.hidden = false;
    clearTimeout(state.noticeTimer);
    state.noticeTimer = setTimeout(() => { n.hidden = true; }, 8000);
  }

  // The table

  // Dates are shown relative ("5 minutes ago"), with the exact local time
  // and its zone on hover; they are written again every minute.
  const exactFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'long' });
  const relativeFormat = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
  const units = [['year', 365 * 86400], ['month', 30 * 86400], ['week', 7 * 86400], ['day', 86400], ['hour', 3600], ['minute', 60]];

  function relative(date) {
    const seconds = (date.getTime() - Date.now()) / 1000;
    for (const [unit, size] of units) {
      if (Math.abs(seconds) >= size) return relativeFormat.format(Math.round(seconds / size), unit);
    }
    return Math.abs(seconds) < 45 ? 'just now' : relativeFormat.format(Math.round(seconds / 60), 'minute');
  }

  function duration(seconds) {
    if (seconds >= 3600 && seconds % 3600 === 0) return seconds / 3600 + (seconds === 3600 ? ' hour' : ' hours');
    if (seconds >= 60 && seconds % 60 === 0) return seconds / 60 + (seconds === 60 ? ' minute' : ' minutes');
    return seconds + (seconds === 1 ? ' second' : ' seconds');
  }

  function timeElement(iso) {
    const d = new Date(iso);
    return el('time', { dateTime: iso, title: exactFormat.format(d), textContent: relative(d) });
  }

  function refreshTimes() {
    for (const t of document.querySelectorAll('#keys-body time')) t.textContent = relative(new Date(t.dateTime));
  }

  function dateCell(label, iso, testid, ifNull, extra) {
    const td = el('td', { className: 'date', dataset: { testid, label } });
    if (!iso) {
      td.append(el('span', { className: 'muted', textContent: ifNull }));
    } else {
      td.append(timeElement(iso));
    }
    if (extra) td.append(extra);
    return td;
  }

  // endsAt is when a key stops working: its expiry or, after a roll, the
  // end of its grace period, whichever comes first; null for never.
  function endsAt(k) {
    const ends = [k.expires_at, k.grace_ends_at].filter((t) => t !== null && t !== undefined);
    if (ends.length === 0) return null;
    return ends.reduce((a, b) => (Date.parse(a) <= Date.parse(b) ? a : b));
  }

  function isExpired(k) {
    const end = endsAt(k);
    return end !== null && Date.parse(end) <= Date.now();
  }

  // expiringSoon: a key that stops working within a week, or is rolled.
  const soon = 7 * 24 * 3600 * 1000;
  function isExpiringSoon(k) {
    const end = endsAt(k);
    return end !== null && !isExpired(k) && Date.parse(end) - Date.now() <= soon;
  }

  function expiresCell(k) {
    const td = el('td', { className: 'date', dataset: { testid: 'key-expires', label: 'Expires' } });
    const end = endsAt(k);
    if (end === null) {
      td.append(el('span', { className: 'muted', textContent: 'never' }));
    } else if (k.grace_ends_at && end === k.grace_ends_at && !isExpired(k)) {
      td.append(el('span', { className: 'badge grace', textContent: 'in grace until', dataset: { testid: 'key-grace' } }), ' ', timeElement(end));
    } else {
      td.append(timeElement(end));
    }
    return td;
  }

  function chips(groups) {
    return el('div', { className: 'chips' }, ...groups.map((g) => el('span', { className: 'chip', textContent: g })));
  }

  // Rate limits, shown compactly: "100/min". The API gives a period as a
  // Go duration ("1m0s").
  const periodNames = { '1s': 'second', '1m0s': 'minute', '1h0m0s': 'hour', '24h0m0s': 'day' };
  const periodShort = { '1s': 's', '1m0s': 'min', '1h0m0s': 'h', '24h0m0s': 'day' };
  const periodValues = { '1s': '1s', '1m0s': '1m', '1h0m0s': '1h', '24h0m0s': '24h' };
  const rateText = (r) => r.limit + '/' + (periodShort[r.period] || r.period);
  const rateLong = (r) => r.name + ': ' + r.limit + ' per ' + (periodNames[r.period] || r.period) + (r.scope === 'owner' ? ' (shared by the organization\'s keys)' : '');

  function limitsText(l) {
    if (!l || ((!l.rates || l.rates.length === 0) && !l.credits)) return 'none';
    const parts = (l.rates || []).map(rateLong);
    if (l.credits) parts.push('credits' + (l.credits.scope === 'owner' ? ' (the organization\'s)' : '') +
      (l.credits.refill ? ', refilled to ' + l.credits.refill.amount + ' ' + l.credits.refill.interval : ''));
    return parts.join('; ');
  }

  function limitsCell(k) {
    const l = k.limits;
    const cell = el('td', { className: 'limits', dataset: { testid: 'key-limits', label: 'Limits' } });
    if (!l) return cell;
    const items = (l.rates || []).map((r) => el('span', { className: 'chip', textContent: rateText(r), title: rateLong(r) }));
    if (l.credits) items.push(el('span', { className: 'chip', textContent: 'credits' }));
    cell.append(el('div', { className: 'chips' }, ...items));
    return cell;
  }

  // The state of a key, as the server says it: whether it works, and if
  // not, why.
  const stateLabels = { active: 'Active', inactive: 'Inactive', expired: 'Expired', rolled: 'Rolled' };
  const stateClasses = { active: 'active', inactive: 'inactive', expired: 'expired', rolled: 'expired' };

  function keyRow(k) {
    const active = k.status === 'active';
    const st = k.state || (active ? 'active' : 'inactive');
    const status = el('td', { dataset: { testid: 'key-status', label: 'Status' } },
      el('span', { className: 'badge ' + stateClasses[st], textContent: stateLabels[st] || st, dataset: { testid: 'key-state', state: st } }));
    // A rolled pair links to each other: the list then shows the other key.
    if (k.rolled_to) {
      status.append(' ', el('button', {
        type: 'button', className: 'link small', textContent: 'Replaced by its successor',
        attrs: { 'aria-label': 'Replaced by its successor: ' + k.name }, dataset: { action: 'successor', testid: 'action-successor', id: k.id },
      }));
    }
    if (k.rolled_from) {
      status.append(' ', el('button', {
        type: 'button', className: 'link small', textContent: 'Replaces an earlier key',
        attrs: { 'aria-label': 'Replaces an earlier key: ' + k.name }, dataset: { action: 'predecessor', testid: 'action-predecessor', id: k.id },
      }));
    }

    const denied = k.can_manage ? '' : 'You do not hold all of this key\'s groups, so you cannot change it.';
    // Each button is named with its key for screen readers: "Deactivate
    // Billing sync", of which the visible label is the start.
    const button = (action, label, extra) => el('button', {
      type: 'button', className: 'small' + (extra ? ' ' + extra : ''), textContent: label, disabled: !k.can_manage,
      title: denied, attrs: { 'aria-label': label + ' ' + k.name }, dataset: { action, testid: 'action-' + action, id: k.id },
    });
    const toggle = active ? button('deactivate', 'Deactivate') : button('activate', 'Activate');
    const actions = el('td', { className: 'row-actions' }, toggle, button('edit', 'Edit'));
    if (st === 'active' && !k.rolled_to) actions.append(button('roll', 'Roll key'));
    // Reading the history needs no group of the key: it is never disabled.
    actions.append(el('button', {
      type: 'button', className: 'small', textContent: 'History',
      attrs: { 'aria-label': 'History of ' + k.name }, dataset: { action: 'history', testid: 'action-history', id: k.id },
    }));
    actions.append(el('button', {
      type: 'button', className: 'small', textContent: 'Usage',
      attrs: { 'aria-label': 'Usage of ' + k.name }, dataset: { action: 'usage', testid: 'action-usage', id: k.id },
    }));
    actions.append(button('limits', 'Limits…'));
    actions.append(button('delete', 'Delete', 'danger-text'));

    const name = el('td', { className: 'name', dataset: { label: 'Name' } },
      el('span', { className: 'key-name', textContent: k.name, dataset: { testid: 'key-name' } }));
    if (k.self) name.append(' ', el('span', { className: 'badge you', textContent: 'This is you', dataset: { testid: 'key-self' } }));

    // Key and Created by are columns where the width allows, lines of the
    // card below it.
    const preview = el('td', { className: 'key', dataset: { label: 'Key' } },
      el('code', { className: 'preview', textContent: k.preview, dataset: { testid: 'key-preview' } }));
    const creator = el('td', { className: 'creator', dataset: { label: 'Created by' } },
      el('span', { textContent: k.created_by, dataset: { testid: 'key-created-by' } }));
    return el('tr', { className: st === 'active' ? 'active' : 'inactive', dataset: { testid: 'key-row', keyId: k.id, keyName: k.name, state: st } },
      name,
      preview,
      status,
      dateCell('Created', k.created_at, 'key-created', ''),
      creator,
      dateCell('Last used', k.last_used_at, 'key-last-used', 'never'),
      expiresCell(k),
      el('td', { dataset: { testid: 'key-groups', label: 'Groups' } }, chips(k.groups)),
      limitsCell(k),
      actions,
    );
  }

  function filtered() {
    return $('filter-name').value.trim() !== '' || $('filter-status').value !== '' || $('filter-group').value !== '';
  }

  // reload shows the current page again (or the first, if reset is set).
  async function reload(reset) {
    if (reset) {
      state.cursors = [''];
      state.page = 0;
    }
    const q = new URLSearchParams({ limit: String(PAGE_SIZE) });
    const status = $('filter-status').value;
    const group = $('filter-group').value;
    const name = $('filter-name').value.trim();
    // The search box takes a name, or a key's preview (what a leak report
    // gives).
    if (name) q.set(looksLikePreview(name) ? 'preview' : 'name', name);
    // "Expiring soon" is the server's: the keys that work and expire
    // within a week, the soonest first, whatever page they are on.
    const expiring = status === 'expiring';
    if (expiring) {
      q.set('status', 'active');
      q.set('expiring_before', new Date(Date.now() + soon).toISOString());
    } else {
      if (status) q.set('status', status);
      q.set('sort', $('sort').value);
    }
    if (group) q.set('group', group);
    if (state.cursors[state.page]) q.set('cursor', state.cursors[state.page]);
    let data;
    try {
      data = await api('GET', 'api/keys?' + q.toString());
    } catch (e) {
      $('list-error').textContent = e.message;
      $('list-error').hidden = false;
      return;
    }
    $('list-error').hidden = true;
    if (data.keys.length === 0 && state.page > 0) {
      // The last key of this page was deleted: show the page before.
      state.page--;
      return reload(false);
    }
    state.keys = new Map(data.keys.map((k) => [k.id, k]));
    state.next = data.next_cursor || null;
    $('keys-body').replaceChildren(...data.keys.map(keyRow));
    const empty = data.keys.length === 0;
    $('keys-table').hidden = empty;
    // One empty state at a time: none yet, or none matching.
    $('empty-none').hidden = !empty || filtered();
    $('empty-filtered').hidden = !empty || !filtered();
    $('prev-page').disabled = state.page === 0;
    $('next-page').disabled = !state.next;
    let info = empty && state.page === 0 ? '' : 'Page ' + (state.page + 1);
    if (typeof data.total === 'number') info = data.total + (data.total === 1 ? ' key' : ' keys') + (info ? ' · ' + info : '');
    $('page-info').textContent = info;
    if (state.refocus) {
      const { id, action } = state.refocus;
      state.refocus = null;
      focusAfter(id, action);
    }
  }

  // focusAfter puts the focus back where the administrator was: on a
  // button of the key's row (the same action, or its replacement), on the
  // row that took a deleted key's place, or on "Add key".
  function focusAfter(id, action) {
    const rows = Array.from($('keys-body').rows);
    const row = rows.find((r) => r.dataset.keyId === id);
    if (row) {
      const swap = { activate: 'deactivate', deactivate: 'activate' };
      const b = row.querySelector('button[data-action="' + action + '"]:not(:disabled)') ||
        row.querySelector('button[data-action="' + (swap[action] || action) + '"]:not(:disabled)') ||
        row.querySelector('button:not(:disabled)');
      if (b) {
        b.focus();
        return;
      }
    }
    const next = rows.map((r) => r.querySelector('button[data-action="' + action + '"]:not(:disabled)') || r.querySelector('button:not(:disabled)')).find(Boolean);
    (next || $('add-key')).focus();
  }

  // Group checkboxes, for the add and edit dialogs

  function groupOptions(container, prefix, checked) {
    const names = new Set(state.groups.map((g) => g.name));
    const all = state.groups.slice();
    for (const g of checked) {
      if (!names.has(g)) all.push({ name: g, description: '', grantable: (state.me.groups || []).includes(g) });
    }
    container.replaceChildren(...all.map((g) => {
      const box = el('input', {
        type: 'checkbox', value: g.name, checked: checked.includes(g.name), disabled: !g.grantable,
        dataset: { testid: prefix + '-group' },
      });
      const text = el('span', {}, el('span', { className: 'group-name', textContent: g.name }));
      const desc = g.grantable ? g.description : (g.description ? g.description + ' — ' : '') + 'you do not hold this group';
      if (desc) text.append(el('span', { className: 'group-desc', textContent: desc }));
      return el('label', { className: 'group-option' + (g.grantable ? '' : ' disabled') }, box, text);
    }));
  }

  // filterGroups shows the groups whose name or description contains the
  // search, so that a list of 200 groups stays usable; checked groups stay
  // checked while hidden.
  function filterGroups(form) {
    const q = $(form + '-group-search').value.trim().toLowerCase();
    let shown = 0;
    const options = $(form + '-groups').querySelectorAll('label.group-option');
    for (const label of options) {
      const match = q === '' || label.textContent.toLowerCase().includes(q);
      label.hidden = !match;
      if (match) shown++;
    }
    $(form + '-group-count').textContent = q === '' ? options.length + ' groups' : shown + ' of ' + options.length + ' groups match';
  }

  function checkedGroups(container) {
    return Array.from(container.querySelectorAll('input[type=checkbox]:checked'), (b) => b.value);
  }

  // validate returns what is wrong with a name and groups, and which
  // field it is about, or null.
  function validate(name, groups) {
    if (name === '') return { field: 'name', message: 'Give the key a name.' };
    if (groups.length === 0) return { field: 'groups', message: 'Choose at least one group.' };
    return null;
  }

  // fieldOf tells which field of a dialog an API error is about.
  function fieldOf(code) {
    if (code === 'invalid_name') return 'name';
    if (['invalid_group', 'unknown_group', 'escalation', 'last_administrator'].includes(code)) return 'groups';
    return null;
  }

  // showError writes a dialog's error and marks the field it is about as
  // invalid (aria-invalid), described by the error (aria-describedby, in
  // the page). field is 'name', 'groups' or null.
  function showError(form, message, field) {
    $(form + '-error').textContent = message || '';
    $(form + '-name').setAttribute('aria-invalid', String(field === 'name'));
    for (const box of $(form + '-groups').querySelectorAll('input[type=checkbox]')) {
      if (field === 'groups') box.setAttribute('aria-invalid', 'true');
      else box.removeAttribute('aria-invalid');
    }
    if (field === 'name') $(form + '-name').focus();
    else if (field === 'groups') {
      const first = $(form + '-groups').querySelector('input:not(:disabled)');
      if (first) first.focus();
    }
  }

  async function pending(button, f) {
    button.disabled = true;
    try {
      await f();
    } finally {
      button.disabled = false;
    }
  }

  // A duplicate name is allowed, with a warning: two keys of one name are
  // hard to tell apart.
  const duplicateTimers = {};
  function checkDuplicate(form, ownID) {
    clearTimeout(duplicateTimers[form]);
    duplicateTimers[form] = setTimeout(async () => {
      const name = $(form + '-name').value.trim();
      const out = $(form + '-duplicate');
      if (name === '') {
        out.textContent = '';
        return;
      }
      try {
        const data = await api('GET', 'api/keys?' + new URLSearchParams({ name, sort: 'name', limit: '100' }).toString());
        const same = data.keys.some((k) => k.name === name && k.id !== ownID);
        out.textContent = same ? 'Another key is already named “' + name + '”. You can keep this name, but the two keys will be hard to tell apart.' : '';
      } catch (e) {
        out.textContent = '';
      }
    }, 300);
  }

  // The last administrator key: the server refuses to leave the
  // organization without one, and the page offers the change anyway, after
  // an explicit confirmation.
  let forceRetry = null;
  function askForce(what, retry) {
    forceRetry = retry;
    $('force-what').textContent = what;
    $('force-confirm').checked = false;
    $('force-submit').disabled = true;
    $('force-error').textContent = '';
    $('force-dialog').showModal();
    $('force-confirm').focus();
  }

  async function submitForce(ev) {
    ev.preventDefault();
    if (!$('force-confirm').checked || !forceRetry) return;
    await pending($('force-submit'), async () => {
      try {
        await forceRetry();
      } catch (e) {
        $('force-error').textContent = e.message;
        return;
      }
      forceRetry = null;
      $('force-dialog').close();
    });
    $('force-submit').disabled = !$('force-confirm').checked;
  }

  // showRelated lists the other key of a roll: the search finds it by its
  // preview.
  async function showRelated(id) {
    let other;
    try {
      other = await api('GET', 'api/keys/' + encodeURIComponent(id));
    } catch (e) {
      notice(e.status === 404 ? 'That key has been deleted.' : e.message);
      return;
    }
    $('filter-name').value = other.preview;
    $('filter-status').value = '';
    $('filter-group').value = '';
    await reload(true);
    state.refocus = null;
    focusAfter(other.id, 'history');
  }

  // Add key

  function openAdd() {
    $('add-form').reset();
    const p = state.me && state.me.expiry_policy;
    $('add-policy').textContent = p && p.description !== 'no expiry policy'
      ? 'Your organization\'s expiry policy: ' + p.description + '. Leave the date empty for the default.'
      : 'Leave the date empty for a key that does not expire.';
    groupOptions($('add-groups'), 'add', []);
    $('add-group-search').value = '';
    filterGroups('add');
    $('add-zone').textContent = ZONE;
    $('add-duplicate').textContent = '';
    showError('add', '', null);
    $('add-dialog').showModal();
    $('add-name').focus();
  }

  async function submitAdd(ev) {
    ev.preventDefault();
    const name = $('add-name').value.trim();
    const groups = checkedGroups($('add-groups'));
    const problem = validate(name, groups);
    if (problem) {
      showError('add', problem.message, problem.field);
      return;
    }
    showError('add', '', null);
    await pending($('add-submit'), async () => {
      let created;
      try {
        const body = { name, groups };
        // The key works until the end of the chosen day, in the
        // administrator's time zone (shown beside the field).
        if ($('add-expires').value) body.expires_at = endOfDay($('add-expires').value);
        const rate = $('add-rate').value.trim();
        if (rate !== '') body.limits = { rates: [{ name: 'requests', limit: Number(rate), period: $('add-period').value }] };
        const credits = $('add-credits').value.trim();
        if (credits !== '') {
          body.limits = body.limits || { rates: [] };
          body.limits.credits = {};
          body.credits = Number(credits);
        }
        created = await api('POST', 'api/keys', body);
      } catch (e) {
        showError('add', e.message, fieldOf(e.code));
        return;
      }
      $('add-dialog').close();
      showCreated(created);
      // Newest first: the new key is the first of the first page.
      await reload(true);
    });
  }

  // showCreated shows the plaintext of a new key, once: it is in this
  // dialog until the dialog closes, and nowhere else.
  function showCreated(created, title) {
    $('created-title').textContent = title || 'Key created';
    $('created-name').textContent = created.key.name;
    $('created-key').textContent = created.plaintext;
    $('copy-status').textContent = '';
    state.copied = false;
    $('discard-confirm').hidden = true;
    $('created-actions').hidden = false;
    $('created-dialog').showModal();
    $('copy-key').focus();
  }

  // closeCreated closes the shown-once dialog, after asking "have you
  // copied it?" unless the key was copied.
  function closeCreated() {
    if (!state.copied) {
      $('created-actions').hidden = true;
      $('discard-confirm').hidden = false;
      $('discard-back').focus();
      return;
    }
    forgetPlaintext();
    $('created-dialog').close();
    $('add-key').focus();
  }

  function forgetPlaintext() {
    $('created-key').textContent = '';
    window.getSelection().removeAllRanges();
  }

  async function copyKey() {
    const secret = $('created-key');
    try {
      await navigator.clipboard.writeText(secret.textContent);
      $('copy-status').textContent = 'Copied to the clipboard.';
      state.copied = true;
    } catch (e) {
      // No clipboard API (or no permission): copy the selection.
      window.getSelection().selectAllChildren(secret);
      const ok = document.execCommand && document.execCommand('copy');
      $('copy-status').textContent = ok ? 'Copied to the clipboard.' : 'Copying failed: select the key and copy it by hand.';
      state.copied = Boolean(ok);
    }
  }

  // Row actions

  async function setActive(k, active) {
    const path = 'api/keys/' + encodeURIComponent(k.id) + (active ? '/activate' : '/deactivate');
    try {
      await api('POST', path);
      notice('Key “' + k.name + '” ' + (active ? 'activated.' : 'deactivated.'));
    } catch (e) {
      if (e.code === 'last_administrator') {
        askForce('Deactivate “' + k.name + '”', async () => {
          await api('POST', path, { force: true });
          notice('Key “' + k.name + '” deactivated.');
          state.refocus = { id: k.id, action: 'deactivate' };
          await reload(false);
        });
        return;
      }
      $('list-error').textContent = e.message;
      $('list-error').hidden = false;
      return;
    }
    state.refocus = { id: k.id, action: active ? 'activate' : 'deactivate' };
    await reload(false);
  }

  // Deactivating the key one is signed in with signs one out: it asks
  // first. The API makes the same checks as for any other key.
  let selfKey = null;

  function openSelf(k) {
    selfKey = k;
    $('self-name').textContent = k.name;
    $('self-error').textContent = '';
    $('self-dialog').showModal();
    $('self-cancel').focus();
  }

  async function submitSelf(ev) {
    ev.preventDefault();
    const k = selfKey;
    await pending($('self-submit'), async () => {
      try {
        await api('POST', 'api/keys/' + encodeURIComponent(k.id) + '/deactivate');
      } catch (e) {
        $('self-error').textContent = e.message;
        return;
      }
      $('self-dialog').close();
      signOut('You deactivated “' + k.name + '”, the key you were signed in with. Sign in with another administrator key.');
    });
  }

  // Roll: a new key replaces the old one, which keeps working for the
  // chosen grace period; the new key is shown once, as a created one.
  let rolling = null;

  function openRoll(k) {
    rolling = k;
    $('roll-name').textContent = k.name;
    $('roll-preview').textContent = k.preview;
    $('roll-grace').value = '24h';
    $('roll-error').textContent = '';
    $('roll-dialog').showModal();
    $('roll-grace').focus();
  }

  async function submitRoll(ev) {
    ev.preventDefault();
    const k = rolling;
    await pending($('roll-submit'), async () => {
      let rolled;
      try {
        rolled = await api('POST', 'api/keys/' + encodeURIComponent(k.id) + '/roll', { grace: $('roll-grace').value });
      } catch (e) {
        $('roll-error').textContent = e.message;
        return;
      }
      $('roll-dialog').close();
      showCreated(rolled, 'Key rolled');
      await reload(false);
    });
  }

  let editing = null;

  function openEdit(k) {
    editing = k;
    $('edit-name').value = k.name;
    groupOptions($('edit-groups'), 'edit', k.groups);
    $('edit-group-search').value = '';
    filterGroups('edit');
    $('edit-expires').value = k.expires_at ? localDay(k.expires_at) : '';
    $('edit-zone').textContent = ZONE;
    $('edit-duplicate').textContent = '';
    showError('edit', '', null);
    $('edit-dialog').showModal();
    $('edit-name').focus();
  }

  async function submitEdit(ev) {
    ev.preventDefault();
    const k = editing;
    const name = $('edit-name').value.trim();
    const groups = checkedGroups($('edit-groups'));
    const problem = validate(name, groups);
    if (problem) {
      showError('edit', problem.message, problem.field);
      return;
    }
    showError('edit', '', null);
    const sameGroups = groups.length === k.groups.length && groups.every((g) => k.groups.includes(g));
    await pending($('edit-submit'), async () => {
      const base = 'api/keys/' + encodeURIComponent(k.id);
      const day = $('edit-expires').value;
      const sameExpiry = day === (k.expires_at ? localDay(k.expires_at) : '');
      try {
        if (name !== k.name) await api('PUT', base + '/name', { name });
        if (!sameExpiry) await api('PUT', base + '/expiry', { expires_at: day ? endOfDay(day) : null });
        if (!sameGroups) await api('PUT', base + '/groups', { groups });
      } catch (e) {
        if (e.code === 'last_administrator') {
          askForce('Change the groups of “' + name + '”', async () => {
            await api('PUT', base + '/groups', { groups, force: true });
            $('edit-dialog').close();
            notice('Key “' + name + '” saved.');
            state.refocus = { id: k.id, action: 'edit' };
            await reload(false);
          });
          return;
        }
        showError('edit', e.message, fieldOf(e.code));
        await reload(false);
        return;
      }
      $('edit-dialog').close();
      notice('Key “' + name + '” saved.');
      state.refocus = { id: k.id, action: 'edit' };
      await reload(false);
    });
  }

  // Limits: a key's own rate limits and credits, the ones that apply, and
  // its balance. The dialog sets one rate limit (by name) and the balance.

  let limiting = null; // { key, own, loaded }

  async function openLimits(k) {
    limiting = { key: k, own: null, loaded: false };
    // Nothing is saved until the key's own limits are read: saving
    // replaces them.
    $('limits-submit').disabled = true;
    $('limits-form').reset();
    $('limits-name').textContent = k.name;
    $('limits-error').textContent = '';
    for (const id of ['limits-own', 'limits-effective', 'limits-remaining']) $(id).textContent = '…';
    $('limits-loading').textContent = 'Loading…';
    $('limits-rate-name').value = 'requests';
    $('limits-period').value = '1m';
    $('limits-dialog').showModal();
    $('limits-rate').focus();
    await loadLimits();
  }

  async function loadLimits() {
    const k = limiting.key;
    let data;
    try {
      data = await api('GET', 'api/keys/' + encodeURIComponent(k.id) + '/limits');
    } catch (e) {
      $('limits-loading').textContent = '';
      $('limits-error').textContent = e.message;
      return false;
    }
    if (!limiting || limiting.key !== k) return false;
    $('limits-loading').textContent = '';
    limiting.own = data.limits;
    limiting.loaded = true;
    $('limits-submit').disabled = false;
    $('limits-own').textContent = limitsText(data.limits);
    $('limits-effective').textContent = limitsText(data.effective);
    $('limits-remaining').textContent = data.credits ? String(data.credits.remaining)
      : (data.effective && data.effective.credits ? 'not set' : 'no credits: not counted');
    const first = data.limits && data.limits.rates && data.limits.rates[0];
    if (first) {
      $('limits-rate-name').value = first.name;
      $('limits-rate').value = String(first.limit);
      if (periodValues[first.period]) $('limits-period').value = periodValues[first.period];
    }
    return true;
  }

  async function submitLimits(ev) {
    ev.preventDefault();
    if (!limiting || !limiting.loaded) return;
    const k = limiting.key;
    const name = $('limits-rate-name').value.trim();
    const rate = $('limits-rate').value.trim();
    const credits = $('limits-credits').value.trim();
    const err = $('limits-error');
    if (rate !== '' && !(Number.isInteger(Number(rate)) && Number(rate) >= 1)) {
      err.textContent = 'The rate limit must be a whole number of requests, at least 1.';
      $('limits-rate').focus();
      return;
    }
    if (rate !== '' && name === '') {
      err.textContent = 'Give the rate limit a name, such as “requests”.';
      $('limits-rate-name').focus();
      return;
    }
    if (credits !== '' && !(Number.isInteger(Number(credits)) && Number(credits) >= 0)) {
      err.textContent = 'The credits must be a whole number, 0 or more.';
      $('limits-credits').focus();
      return;
    }
    err.textContent = '';
    const own = limiting.own || { rates: [], credits: null };
    // The other rate limits of the key stay; the one named is replaced,
    // or removed when its number is empty.
    const rates = (own.rates || []).filter((r) => r.name !== name);
    if (rate !== '') rates.push({ name, limit: Number(rate), period: $('limits-period').value });
    // A balance needs a credit policy: the key's own, if it has none.
    const policy = own.credits || (credits !== '' ? {} : null);
    const base = 'api/keys/' + encodeURIComponent(k.id);
    await pending($('limits-submit'), async () => {
      try {
        await api('PUT', base + '/limits', { rates, credits: policy });
        if (credits !== '') await api('POST', base + '/credits', { set: Number(credits) });
      } catch (e) {
        err.textContent = e.message;
        return;
      }
      $('limits-dialog').close();
      notice('Limits of “' + k.name + '” saved.');
      state.refocus = { id: k.id, action: 'limits' };
      await reload(false);
    });
  }

  // The audit trail: a key's history, and the organization's activity,
  // newest first, a page at a time; the activity filtered by kind and by
  // who made the change.

  const eventViews = {
    history: { path: '', cursor: null },
    activity: { path: 'api/events', cursor: null },
  };
  const keyNames = new Map(); // key ID → its latest name the events told
  const actors = new Map(); // actor ID → "name (preview)", as seen in the activity

  const quoted = (s) => '“' + s + '”';
  const groupsText = (groups) => (groups && groups.length ? groups.join(', ') : 'none');
  const dateText = (iso) => (iso ? exactFormat.format(new Date(iso)) : 'never');

  // describeEvent says what an event changed, old → new.
  function describeEvent(e) {
    const o = e.old || {};
    const n = e.new || {};
    switch (e.kind) {
      case 'issued': return 'Created ' + quoted(n.name) + ' with groups ' + groupsText(n.groups) +
        (n.expires_at ? ', expiring ' + dateText(n.expires_at) : '') + (n.predecessor ? ', replacing a rolled key' : '');
      case 'renamed': return 'Renamed ' + quoted(o.name) + ' → ' + quoted(n.name);
      case 'groups_changed': return 'Groups ' + groupsText(o.groups) + ' → ' + groupsText(n.groups);
      case 'activated': return 'Activated';
      case 'deactivated': return 'Deactivated';
      case 'rolled': return 'Rolled: replaced by a new key; this one works until ' + dateText(n.grace_ends_at);
      case 'expiry_changed': return 'Expiry ' + dateText(o.expires_at) + ' → ' + dateText(n.expires_at);
      case 'limits_changed': return 'Limits changed';
      case 'credits_changed': return 'Credits ' + (o.credits ?? 'not set') + ' → ' + (n.credits ?? 'not set');
      case 'deleted': return 'Deleted ' + quoted(o.name);
      case 'pruned': return 'Pruned ' + quoted(o.name) + ': it had stopped working long before';
      default: return e.kind;
    }
  }

  function eventItem(e, withKey) {
    const li = el('li', { className: 'event', dataset: { testid: 'event', kind: e.kind } });
    if (withKey) {
      const name = keyNames.get(e.key_id);
      li.append(el('span', { className: 'event-key', textContent: name ? name : 'Key ' + e.key_id.slice(0, 8), dataset: { testid: 'event-key' } }));
    }
    // The preview of the acting key beside its name: two administrators'
    // keys may share a name, never a preview.
    const by = [el('span', { textContent: e.actor_name, dataset: { testid: 'event-actor' } })];
    if (e.actor_preview) by.push(' ', el('code', { className: 'event-actor-preview', textContent: '(' + e.actor_preview + ')', dataset: { testid: 'event-actor-preview' } }));
    li.append(
      el('span', { className: 'event-what', textContent: describeEvent(e), dataset: { testid: 'event-what' } }),
      el('span', { className: 'event-meta muted small' }, 'by ', ...by, ' · ', timeElement(e.at)),
    );
    if (e.reason) li.append(el('span', { className: 'event-reason muted small', textContent: 'Reason: ' + e.reason, dataset: { testid: 'event-reason' } }));
    return li;
  }

  // loadEvents appends the next page of a view's events to its list.
  async function loadEvents(view) {
    const v = eventViews[view];
    const list = $(view + '-list');
    $(view + '-error').textContent = '';
    let query = '?limit=50';
    if (view === 'activity') {
      if ($('activity-kind').value) query += '&kind=' + encodeURIComponent($('activity-kind').value);
      if ($('activity-actor').value) query += '&actor=' + encodeURIComponent($('activity-actor').value);
    }
    if (v.cursor !== null) query += '&cursor=' + encodeURIComponent(v.cursor);
    let data;
    try {
      data = await api('GET', v.path + query);
    } catch (e) {
      $(view + '-error').textContent = e.message;
      return;
    }
    for (const e of data.events) {
      // Newest first: the first event seen of a key tells its latest name.
      const name = (e.new && e.new.name) || (e.old && e.old.name);
      if (name && !keyNames.has(e.key_id)) keyNames.set(e.key_id, name);
      if (view === 'activity' && e.actor_id && !actors.has(e.actor_id)) {
        actors.set(e.actor_id, e.actor_name + (e.actor_preview ? ' (' + e.actor_preview + ')' : ''));
        $('activity-actor').append(el('option', { value: e.actor_id, textContent: actors.get(e.actor_id) }));
      }
      list.append(eventItem(e, view === 'activity'));
    }
    if (list.children.length === 0) list.append(el('li', { className: 'muted', textContent: 'No change recorded.' }));
    v.cursor = data.next_cursor;
    $(view + '-more').hidden = data.next_cursor === null;
  }

  async function moreEvents(view) {
    await pending($(view + '-more'), () => loadEvents(view));
    if ($(view + '-more').hidden) $(view + '-close').focus();
  }

  let historyKey = null;

  async function openHistory(k) {
    historyKey = k;
    eventViews.history.path = 'api/keys/' + encodeURIComponent(k.id) + '/events';
    eventViews.history.cursor = null;
    $('history-name').textContent = k.name;
    $('history-list').replaceChildren();
    $('history-more').hidden = true;
    $('history-dialog').showModal();
    $('history-close').focus();
    await loadEvents('history');
  }

  async function openActivity() {
    keyNames.clear();
    actors.clear();
    $('activity-kind').value = '';
    $('activity-actor').replaceChildren(el('option', { value: '', textContent: 'Anyone' }));
    $('activity-dialog').showModal();
    $('activity-close').focus();
    await reloadActivity();
  }

  // reloadActivity reads the activity again from the newest, with the
  // filters as they are now.
  async function reloadActivity() {
    eventViews.activity.cursor = null;
    $('activity-list').replaceChildren();
    $('activity-more').hidden = true;
    await loadEvents('activity');
  }

  // Usage: requests per day over 30 days, drawn as an inline SVG bar chart
  // (no chart library), with the same numbers in a table for screen
  // readers; for the organization, its busiest and unused keys too.

  // The chart is the page's own <svg> element (the HTML parser puts it in
  // the SVG namespace, which its children take from it).
  function svg(tag, attrs, ...children) {
    const node = document.createElementNS($('usage-svg').namespaceURI, tag);
    for (const [a, v] of Object.entries(attrs || {})) node.setAttribute(a, v);
    node.append(...children);
    return node;
  }
  const refused = (p) => p.inactive + p.expired + p.missing_scope + p.rate_limited + p.credits_exhausted;
  const dayText = (iso) => iso.slice(0, 10);

  // usageChart draws one stacked bar per day: let through below, refused
  // above. It is one image with a text alternative; the table holds the
  // numbers.
  function usageChart(report) {
    const W = 600, H = 160, pad = 24;
    const points = report.points;
    const top = Math.max(1, ...points.map((p) => p.verified + refused(p)));
    const bw = (W - pad) / points.length;
    const total = report.total.verified + refused(report.total);
    const title = svg('title', { id: 'usage-chart-title' });
    title.textContent = 'Bar chart of requests per day, ' + dayText(points[0].start) + ' to ' + dayText(points[points.length - 1].start) +
      ': ' + report.total.verified + ' let through, ' + refused(report.total) + ' refused; the table below has the numbers.';
    const chart = $('usage-svg');
    chart.setAttribute('viewBox', '0 0 ' + W + ' ' + (H + pad));
    chart.replaceChildren(title, svg('line', { x1: pad, y1: H, x2: W, y2: H, class: 'axis' }));
    chart.removeAttribute('hidden');
    const label = svg('text', { x: 0, y: 12, class: 'axis-label' });
    label.textContent = String(top);
    chart.append(label);
    points.forEach((p, i) => {
      const x = pad + i * bw + 1;
      const hv = (p.verified / top) * (H - 8);
      const hr = (refused(p) / top) * (H - 8);
      if (hv > 0) chart.append(svg('rect', { x, y: H - hv, width: Math.max(1, bw - 2), height: hv, class: 'bar-verified' }));
      if (hr > 0) chart.append(svg('rect', { x, y: H - hv - hr, width: Math.max(1, bw - 2), height: hr, class: 'bar-refused' }));
    });
    const first = svg('text', { x: pad, y: H + 16, class: 'axis-label' });
    first.textContent = dayText(points[0].start);
    const last = svg('text', { x: W, y: H + 16, class: 'axis-label', 'text-anchor': 'end' });
    last.textContent = dayText(points[points.length - 1].start);
    chart.append(first, last);
    $('usage-total').textContent = total === 0 ? 'No request in 30 days.' :
      report.total.verified + ' let through and ' + refused(report.total) + ' refused in 30 days.';
    $('usage-table-body').replaceChildren(...points.map((p) => el('tr', {},
      el('th', { scope: 'row', textContent: dayText(p.start) }),
      el('td', { textContent: String(p.verified) }),
      el('td', { textContent: String(refused(p)) }))));
  }

  function keyLabel(id) {
    const k = state.keys.get(id);
    return k ? k.name : 'Key ' + id.slice(0, 8);
  }

  async function openUsage(k) {
    $('usage-name').textContent = k ? k.name : 'your organization';
    $('usage-error').textContent = '';
    $('usage-total').textContent = '';
    $('usage-svg').replaceChildren();
    $('usage-svg').setAttribute('hidden', '');
    $('usage-table-body').replaceChildren();
    $('usage-org').hidden = !!k;
    $('usage-dialog').showModal();
    $('usage-close').focus();
    try {
      const report = await api('GET', (k ? 'api/keys/' + encodeURIComponent(k.id) + '/usage' : 'api/usage') + '?step=day');
      usageChart(report);
      if (!k) {
        $('busiest-list').replaceChildren(...report.busiest.map((b) => el('li', { className: 'event', dataset: { testid: 'busiest' } },
          el('span', { className: 'event-key', textContent: keyLabel(b.key_id) }),
          el('span', { className: 'event-what', textContent: b.verified + ' let through, ' + b.refused + ' refused' }))));
        if (report.busiest.length === 0) $('busiest-list').append(el('li', { className: 'muted', textContent: 'No key was used in 30 days.' }));
        const unused = await api('GET', 'api/usage/unused?days=30');
        $('unused-list').replaceChildren(...unused.keys.map((u) => el('li', { className: 'event', dataset: { testid: 'unused' } },
          el('span', { className: 'event-key', textContent: u.name }),
          el('code', { className: 'preview', textContent: u.preview }))));
        if (unused.keys.length === 0) $('unused-list').append(el('li', { className: 'muted', textContent: 'Every key was used in the last 30 days.' }));
        if (unused.truncated) $('unused-list').append(el('li', { className: 'muted', textContent: 'Only the first 10,000 keys were read.' }));
      }
    } catch (e) {
      $('usage-error').textContent = e.message;
    }
  }

  let deleting = null;

  function openDelete(k) {
    deleting = k;
    $('delete-name').textContent = k.name;
    $('delete-preview').textContent = k.preview;
    $('delete-error').textContent = '';
    $('delete-self-note').hidden = !k.self;
    $('delete-submit').textContent = k.self ? 'Delete and sign out' : 'Delete key';
    $('delete-dialog').showModal();
    $('delete-cancel').focus();
  }

  async function submitDelete(ev) {
    ev.preventDefault();
    const k = deleting;
    await pending($('delete-submit'), async () => {
      try {
        // The key's name confirms that this very key is meant.
        await api('DELETE', 'api/keys/' + encodeURIComponent(k.id), { confirm: k.name });
      } catch (e) {
        if (e.code === 'last_administrator') {
          askForce('Delete “' + k.name + '”', async () => {
            await api('DELETE', 'api/keys/' + encodeURIComponent(k.id), { confirm: k.name, force: true });
            $('delete-dialog').close();
            notice('Key “' + k.name + '” deleted.');
            await reload(false);
          });
          return;
        }
        $('delete-error').textContent = e.message;
        return;
      }
      $('delete-dialog').close();
      if (k.self) {
        signOut('You deleted “' + k.name + '”, the key you were signed in with. Sign in with another administrator key.');
        return;
      }
      notice('Key “' + k.name + '” deleted.');
      // The focus goes to the row that takes its place.
      state.refocus = { id: k.id, action: 'delete' };
      await reload(false);
    });
  }

  // Wiring

  async function submitLogin(ev) {
    ev.preventDefault();
    const key = $('login-key').value.trim();
    if (!key) {
      $('login-error').textContent = 'Enter your API key.';
      return;
    }
    await pending($('login-submit'), async () => {
      state.key = key;
      try {
        await enter();
      } catch (e) {
        state.key = '';
        $('login-error').textContent = e.status === 401 ? 'This key is not accepted.' : e.message;
        return;
      }
      sessionStorage.setItem(STORAGE_KEY, key);
      $('login-key').value = '';
    });
  }

  function init() {
    $('login-form').addEventListener('submit', submitLogin);
    $('sign-out').addEventListener('click', () => signOut(''));
    $('add-key').addEventListener('click', openAdd);
    $('add-form').addEventListener('submit', submitAdd);
    $('add-cancel').addEventListener('click', () => $('add-dialog').close());
    $('copy-key').addEventListener('click', copyKey);
    // Copying by hand counts as copying.
    $('created-key').addEventListener('copy', () => { state.copied = true; });
    // The plaintext leaves the page with the dialog; Done and Escape ask
    // first if it was not copied.
    $('created-done').addEventListener('click', closeCreated);
    $('created-dialog').addEventListener('cancel', (ev) => {
      ev.preventDefault();
      closeCreated();
    });
    $('discard-back').addEventListener('click', () => {
      $('discard-confirm').hidden = true;
      $('created-actions').hidden = false;
      $('copy-key').focus();
    });
    $('discard-close').addEventListener('click', () => {
      state.copied = true;
      closeCreated();
    });
    $('created-dialog').addEventListener('close', () => {
      if (state.copied || $('created-key').textContent === '') {
        forgetPlaintext();
        return;
      }
      // Closed without asking (a browser that does not let the page
      // cancel Escape twice in a row): show it again, and ask.
      $('created-dialog').showModal();
      closeCreated();
    });
    // An error message goes once the administrator changes the form.
    for (const form of ['add', 'edit']) {
      $(form + '-form').addEventListener('input', () => showError(form, '', null));
    }
    // Dialogs give the focus back to the button that opened them (a
    // change that reloads the list does so once the list is shown).
    for (const [dialog, opener] of [['add-dialog', null], ['edit-dialog', 'edit'], ['delete-dialog', 'delete'], ['self-dialog', 'deactivate'], ['history-dialog', 'history'], ['limits-dialog', 'limits']]) {
      $(dialog).addEventListener('close', () => {
        if ($('keys-view').hidden || $('created-dialog').open || state.refocus) return;
        const k = { 'edit-dialog': editing, 'delete-dialog': deleting, 'self-dialog': selfKey, 'history-dialog': historyKey, 'limits-dialog': limiting && limiting.key }[dialog];
        if (opener && k) focusAfter(k.id, opener);
        else $('add-key').focus();
      });
    }
    $('activity-dialog').addEventListener('close', () => {
      if (!$('keys-view').hidden) $('show-activity').focus();
    });
    $('show-activity').addEventListener('click', openActivity);
    $('activity-kind').addEventListener('change', reloadActivity);
    $('activity-actor').addEventListener('change', reloadActivity);
    $('show-usage').addEventListener('click', () => openUsage(null));
    $('usage-close').addEventListener('click', () => $('usage-dialog').close());
    $('usage-dialog').addEventListener('close', () => {
      if (!$('keys-view').hidden) $('show-usage').focus();
    });
    for (const view of ['history', 'activity']) {
      $(view + '-more').addEventListener('click', () => moreEvents(view));
      $(view + '-close').addEventListener('click', () => $(view + '-dialog').close());
    }
    $('edit-form').addEventListener('submit', submitEdit);
    $('limits-form').addEventListener('submit', submitLimits);
    $('limits-cancel').addEventListener('click', () => $('limits-dialog').close());
    $('limits-form').addEventListener('input', () => { $('limits-error').textContent = ''; });
    for (const form of ['add', 'edit']) {
      $(form + '-group-search').addEventListener('input', () => filterGroups(form));
    }
    $('add-name').addEventListener('input', () => checkDuplicate('add', ''));
    $('edit-name').addEventListener('input', () => checkDuplicate('edit', editing ? editing.id : ''));
    $('force-form').addEventListener('submit', submitForce);
    $('force-confirm').addEventListener('change', () => { $('force-submit').disabled = !$('force-confirm').checked; });
    $('force-cancel').addEventListener('click', () => $('force-dialog').close());
    $('sort').addEventListener('change', () => reload(true));
    $('edit-cancel').addEventListener('click', () => $('edit-dialog').close());
    $('delete-form').addEventListener('submit', submitDelete);
    $('roll-form').addEventListener('submit', submitRoll);
    $('roll-cancel').addEventListener('click', () => $('roll-dialog').close());
    $('delete-cancel').addEventListener('click', () => $('delete-dialog').close());
    $('self-form').addEventListener('submit', submitSelf);
    $('self-cancel').addEventListener('click', () => $('self-dialog').close());
    $('filter-status').addEventListener('change', () => reload(true));
    $('filter-group').addEventListener('change', () => reload(true));
    // The search runs on the server, a moment after the last keystroke.
    $('filter-name').addEventListener('input', () => {
      clearTimeout(state.searchTimer);
      state.searchTimer = setTimeout(() => reload(true), 250);
    });
    $('clear-filters').addEventListener('click', () => {
      $('filter-name').value = '';
      $('filter-status').value = '';
      $('filter-group').value = '';
      $('sort').value = '-created';
      reload(true).then(() => $('filter-name').focus());
    });
    $('refresh').addEventListener('click', () => reload(false));
    setInterval(refreshTimes, 60000);
    $('prev-page').addEventListener('click', () => {
      if (state.page > 0) {
        state.page--;
        reload(false);
      }
    });
    $('next-page').addEventListener('click', () => {
      if (state.next) {
        state.cursors[state.page + 1] = state.next;
        state.page++;
        reload(false);
      }
    });
    $('keys-body').addEventListener('click', (ev) => {
      const button = ev.target.closest('button[data-action]');
      if (!button) return;
      const k = state.keys.get(button.dataset.id);
      if (!k) return;
      switch (button.dataset.action) {
        case 'activate': setActive(k, true); break;
        case 'deactivate': if (k.self) openSelf(k); else setActive(k, false); break;
        case 'edit': openEdit(k); break;
        case 'roll': openRoll(k); break;
        case 'delete': openDelete(k); break;
        case 'history': openHistory(k); break;
        case 'successor': showRelated(k.rolled_to); break;
        case 'predecessor': showRelated(k.rolled_from); break;
        case 'usage': openUsage(k); break;
        case 'limits': openLimits(k); break;
      }
    });

    // Sign in with the key this tab kept, if any; an application that
    // authenticates administrators otherwise (a session cookie) needs no key.
    state.key = sessionStorage.getItem(STORAGE_KEY) || '';
    const kept = state.key !== '';
    enter().catch((e) => {
      if (state.key) sessionStorage.removeItem(STORAGE_KEY);
      state.key = '';
      // After a reload with a key that stopped working, say so.
      showLogin(e.status === 401 ? (kept ? NOT_ACCEPTED : '') : e.message);
    });
  }

  document.addEventListener('DOMContentLoaded', init);
}());
