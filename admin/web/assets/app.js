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
  };

  const $ = (id) => document.getElementById(id);

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
        signOut('Your key is no longer accepted (it may have been deactivated). Sign in again.');
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

  const dateFormat = new Intl.DateTimeFormat(undefined, {
    year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit',
  });

  function dateCell(iso, testid, ifNull) {
    const td = el('td', { className: 'date', dataset: { testid } });
    if (!iso) {
      td.append(el('span', { className: 'muted', textContent: ifNull }));
      return td;
    }
    const d = new Date(iso);
    td.append(el('time', { dateTime: iso, title: d.toISOString(), textContent: dateFormat.format(d) }));
    return td;
  }

  function isExpired(k) {
    return k.expires_at !== null && k.expires_at !== undefined && Date.parse(k.expires_at) <= Date.now();
  }

  function chips(groups) {
    return el('div', { className: 'chips' }, ...groups.map((g) => el('span', { className: 'chip', textContent: g })));
  }

  function keyRow(k) {
    const active = k.status === 'active';
    const status = el('td', { dataset: { testid: 'key-status' } },
      el('span', { className: 'badge ' + (active ? 'active' : 'inactive'), textContent: active ? 'Active' : 'Inactive' }));
    if (isExpired(k)) status.append(' ', el('span', { className: 'badge expired', textContent: 'Expired' }));

    const denied = k.can_manage ? '' : 'You do not hold all of this key\'s groups, so you cannot change it.';
    const button = (action, label, extra) => el('button', {
      type: 'button', className: 'small' + (extra ? ' ' + extra : ''), textContent: label, disabled: !k.can_manage,
      title: denied, dataset: { action, testid: 'action-' + action, id: k.id },
    });
    const toggle = active ? button('deactivate', 'Deactivate') : button('activate', 'Activate');

    return el('tr', { className: active ? 'active' : 'inactive', dataset: { testid: 'key-row', keyId: k.id, keyName: k.name } },
      el('td', { className: 'name', textContent: k.name, dataset: { testid: 'key-name' } }),
      status,
      el('td', { className: 'preview' }, el('code', { textContent: k.preview, dataset: { testid: 'key-preview' } })),
      dateCell(k.created_at, 'key-created', ''),
      dateCell(k.last_used_at, 'key-last-used', 'never'),
      el('td', { className: 'creator', textContent: k.created_by, dataset: { testid: 'key-created-by' } }),
      el('td', { dataset: { testid: 'key-groups' } }, chips(k.groups)),
      el('td', { className: 'row-actions' }, toggle, button('edit', 'Edit'), button('delete', 'Delete', 'danger-text')),
    );
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
    if (status) q.set('status', status);
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
    $('empty-state').hidden = !empty;
    $('empty-hint').textContent = status || group
      ? 'No key matches these filters.'
      : 'Add a key to let a program call the API.';
    $('prev-page').disabled = state.page === 0;
    $('next-page').disabled = !state.next;
    $('page-info').textContent = empty && state.page === 0 ? '' : 'Page ' + (state.page + 1);
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

  function checkedGroups(container) {
    return Array.from(container.querySelectorAll('input[type=checkbox]:checked'), (b) => b.value);
  }

  // validate returns what is wrong with a name and groups, or ''.
  function validate(name, groups) {
    if (name === '') return 'Give the key a name.';
    if (groups.length === 0) return 'Choose at least one group.';
    return '';
  }

  async function pending(button, f) {
    button.disabled = true;
    try {
      await f();
    } finally {
      button.disabled = false;
    }
  }

  // Add key

  function openAdd() {
    $('add-form').reset();
    $('add-error').textContent = '';
    groupOptions($('add-groups'), 'add', []);
    $('add-dialog').showModal();
    $('add-name').focus();
  }

  async function submitAdd(ev) {
    ev.preventDefault();
    const name = $('add-name').value.trim();
    const groups = checkedGroups($('add-groups'));
    const problem = validate(name, groups);
    $('add-error').textContent = problem;
    if (problem) return;
    await pending($('add-submit'), async () => {
      let created;
      try {
        created = await api('POST', 'api/keys', { name, groups });
      } catch (e) {
        $('add-error').textContent = e.message;
        return;
      }
      $('add-dialog').close();
      showCreated(created);
      await reload(false);
    });
  }

  // showCreated shows the plaintext of a new key, once: it is in this
  // dialog until the dialog closes, and nowhere else.
  function showCreated(created) {
    $('created-name').textContent = created.key.name;
    $('created-key').textContent = created.plaintext;
    $('copy-status').textContent = '';
    $('created-dialog').showModal();
    $('copy-key').focus();
  }

  async function copyKey() {
    const secret = $('created-key');
    try {
      await navigator.clipboard.writeText(secret.textContent);
      $('copy-status').textContent = 'Copied to the clipboard.';
    } catch (e) {
      // No clipboard API (or no permission): copy the selection.
      window.getSelection().selectAllChildren(secret);
      const ok = document.execCommand && document.execCommand('copy');
      $('copy-status').textContent = ok ? 'Copied to the clipboard.' : 'Copying failed: select the key and copy it by hand.';
    }
  }

  // Row actions

  async function setActive(k, active) {
    try {
      await api('POST', 'api/keys/' + encodeURIComponent(k.id) + (active ? '/activate' : '/deactivate'));
      notice('Key “' + k.name + '” ' + (active ? 'activated.' : 'deactivated.'));
    } catch (e) {
      $('list-error').textContent = e.message;
      $('list-error').hidden = false;
      return;
    }
    await reload(false);
  }

  let editing = null;

  function openEdit(k) {
    editing = k;
    $('edit-name').value = k.name;
    $('edit-error').textContent = '';
    groupOptions($('edit-groups'), 'edit', k.groups);
    $('edit-dialog').showModal();
    $('edit-name').focus();
  }

  async function submitEdit(ev) {
    ev.preventDefault();
    const k = editing;
    const name = $('edit-name').value.trim();
    const groups = checkedGroups($('edit-groups'));
    const problem = validate(name, groups);
    $('edit-error').textContent = problem;
    if (problem) return;
    const sameGroups = groups.length === k.groups.length && groups.every((g) => k.groups.includes(g));
    await pending($('edit-submit'), async () => {
      const base = 'api/keys/' + encodeURIComponent(k.id);
      try {
        if (name !== k.name) await api('PUT', base + '/name', { name });
        if (!sameGroups) await api('PUT', base + '/groups', { groups });
      } catch (e) {
        $('edit-error').textContent = e.message;
        await reload(false);
        return;
      }
      $('edit-dialog').close();
      notice('Key “' + name + '” saved.');
      await reload(false);
    });
  }

  let deleting = null;

  function openDelete(k) {
    deleting = k;
    $('delete-name').textContent = k.name;
    $('delete-preview').textContent = k.preview;
    $('delete-error').textContent = '';
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
        $('delete-error').textContent = e.message;
        return;
      }
      $('delete-dialog').close();
      notice('Key “' + k.name + '” deleted.');
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
    // The plaintext leaves the page with the dialog, however it closes
    // (Done, or Escape).
    const forgetPlaintext = () => {
      $('created-key').textContent = '';
      window.getSelection().removeAllRanges();
    };
    $('created-done').addEventListener('click', () => {
      forgetPlaintext();
      $('created-dialog').close();
    });
    $('created-dialog').addEventListener('close', forgetPlaintext);
    // An error message goes once the administrator changes the form.
    for (const form of ['add', 'edit']) {
      $(form + '-form').addEventListener('input', () => { $(form + '-error').textContent = ''; });
    }
    $('edit-form').addEventListener('submit', submitEdit);
    $('edit-cancel').addEventListener('click', () => $('edit-dialog').close());
    $('delete-form').addEventListener('submit', submitDelete);
    $('delete-cancel').addEventListener('click', () => $('delete-dialog').close());
    $('filter-status').addEventListener('change', () => reload(true));
    $('filter-group').addEventListener('change', () => reload(true));
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
        case 'deactivate': setActive(k, false); break;
        case 'edit': openEdit(k); break;
        case 'delete': openDelete(k); break;
      }
    });

    // Sign in with the key this tab kept, if any; an application that
    // authenticates administrators otherwise (a session cookie) needs no key.
    state.key = sessionStorage.getItem(STORAGE_KEY) || '';
    enter().catch((e) => {
      if (state.key) sessionStorage.removeItem(STORAGE_KEY);
      state.key = '';
      showLogin(e.status === 401 ? '' : e.message);
    });
  }

  document.addEventListener('DOMContentLoaded', init);
}());
