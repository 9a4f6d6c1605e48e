// httpuploader's page script. The server renders a complete listing (plain
// links and a multipart upload form); this script improves it in place:
//
// - sorting by each column (folders stay first) and a filter box;
// - uploads of files and whole folders, chosen or dropped, a few at a time,
//   each with its own progress bar, speed, time left, cancel and retry;
// - the file-manager commands (new folder, rename or move, copy, delete,
//   info with SHA-256), each offered only where the listing's `links`
//   (GET /api/1.0.0/<dir>?cmd=list) say the server permits it;
// - refreshing the listing through the API after every change.
//
// Errors are shown in words: the server's `data.extra` sentence, or a plain
// description of the status. No framework, no build step, no other host.
'use strict';

(() => {
  const API = '/api/1.0.0';
  /** Uploads that run at the same time. */
  const PARALLEL = 3;
  /** The most files one drop or pick may queue. */
  const MAX_FILES = 10000;
  const SORT_STORE = 'httpuploader.sort';

  document.documentElement.classList.add('js');

  const body = document.body;
  const dir = body.dataset.dir;
  if (dir === undefined) return; // an error page: nothing to improve

  // ---- Small helpers ---------------------------------------------------

  const $ = (selector, root = document) => root.querySelector(selector);

  /** Creates an element; `props` sets attributes, `text`, `class` and on* handlers. */
  function el(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'text') node.textContent = value;
      else if (key === 'class') node.className = value;
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? '' : value);
    }
    node.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
    return node;
  }

  const spriteUse = $('.brand use');
  const sprite = spriteUse ? spriteUse.getAttribute('href').split('#')[0] : '';

  /** An icon from the sprite, hidden from screen readers. */
  function icon(name) {
    const ns = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('class', `icon icon-${name}`);
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    const use = document.createElementNS(ns, 'use');
    use.setAttribute('href', `${sprite}#${name}`);
    svg.append(use);
    return svg;
  }

  /** Text with `quoted` parts shown as code, as the server writes paths. */
  function richText(text) {
    const fragment = document.createDocumentFragment();
    String(text).split('`').forEach((part, i) => {
      if (part) fragment.append(i % 2 ? el('code', { text: part }) : part);
    });
    return fragment;
  }

  /** Joins folder paths: joinPath('/a', 'b/c') is '/a/b/c'. */
  function joinPath(base, rest) {
    return `/${[...base.split('/'), ...rest.split('/')].filter(Boolean).join('/')}`;
  }

  /** A decoded path as a URL path, each segment percent-encoded. */
  function encodePath(path) {
    return `/${path.split('/').filter(Boolean).map(encodeURIComponent).join('/')}`;
  }

  const apiUrl = (path, query) => `${API}${encodePath(path)}${query ? `?${query}` : ''}`;

  const cmdOf = (link) => (/[?&]cmd=([a-z]+)/.exec(link.href) || [])[1];
  const linkFor = (links, cmd) => (links || []).find((l) => cmdOf(l) === cmd) || null;
  /** A link's href with its `{n}` placeholders filled in. */
  const fill = (link, ...values) =>
    link.href.replace(/\{(\d+)\}/g, (_, i) => encodeURIComponent(values[Number(i)] ?? ''));

  /** Sizes as the server page shows them (html.rs `size_text`). */
  function sizeText(bytes) {
    if (bytes === 1) return '1 byte';
    if (bytes < 1024) return `${bytes} bytes`;
    const units = ['KB', 'MB', 'GB', 'TB'];
    let value = bytes / 1024;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit += 1;
    }
    return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`;
  }

  function durationText(seconds) {
    if (!Number.isFinite(seconds) || seconds < 0) return '';
    if (seconds < 60) return `${Math.max(1, Math.ceil(seconds))} s`;
    if (seconds < 3600) return `${Math.ceil(seconds / 60)} min`;
    return `${(seconds / 3600).toFixed(1)} h`;
  }

  /** The icon kind of a file name (html.rs `kind_of`). */
  const KINDS = {
    image: 'png jpg jpeg gif webp svg bmp ico tif tiff heic avif',
    audio: 'mp3 wav ogg oga flac m4a aac opus mid midi',
    video: 'mp4 mkv webm mov avi m4v ogv wmv',
    archive: 'zip tar gz tgz bz2 xz 7z rar zst',
    code: 'rs py js mjs ts jsx tsx c h cpp hpp cc java kt go rb php sh html htm css json xml yaml yml toml ini sql ipynb lua swift cs',
    sheet: 'xls xlsx ods csv tsv',
    slides: 'ppt pptx odp key',
    text: 'txt md rst log tex pdf doc docx odt rtf epub',
  };
  const KIND_OF_EXT = new Map();
  for (const [kind, exts] of Object.entries(KINDS)) {
    for (const ext of exts.split(' ')) KIND_OF_EXT.set(ext, kind);
  }
  function kindOf(name) {
    const dot = name.lastIndexOf('.');
    if (dot <= 0) return 'file';
    return KIND_OF_EXT.get(name.slice(dot + 1).toLowerCase()) || 'file';
  }

  const fullDate = new Intl.DateTimeFormat(undefined, { dateStyle: 'long', timeStyle: 'short' });
  const thisYearDate = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
  const otherYearDate = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

  /** A short local date: '4 Dec, 17:19' this year, '4 Dec 2025' before. */
  function dateText(time) {
    const date = new Date(time);
    return (date.getFullYear() === new Date().getFullYear() ? thisYearDate : otherYearDate).format(date);
  }

  // ---- Talking to the server --------------------------------------------

  class ApiError extends Error {
    constructor(message, status) {
      super(message);
      this.status = status;
    }
  }

  const STATUS_WORDS = {
    400: 'The server could not do that.',
    403: 'That is not allowed here.',
    404: 'That no longer exists.',
    413: 'That is too large for the server.',
    500: 'The server ran into a problem.',
    501: 'The server cannot do that yet.',
    507: 'The server’s disk is full.',
  };

  /** The sentence for a failed answer: the server's `extra`, else words for the status. */
  function errorText(status, json) {
    const extra = json && json.data && typeof json.data.extra === 'string' ? json.data.extra.trim() : '';
    if (extra) {
      const sentence = extra[0] === '`' ? extra : extra[0].toUpperCase() + extra.slice(1);
      return /[.!?]$/.test(sentence) ? sentence : `${sentence}.`;
    }
    return STATUS_WORDS[status] || `The server answered with status ${status}.`;
  }

  function parseJson(text) {
    try {
      return JSON.parse(text);
    } catch {
      return null;
    }
  }

  const UNREACHABLE = 'The server could not be reached. Check that it is still running and that this device is on its network.';

  /** One API request; resolves to the envelope's `data` (null for 204). */
  async function call(method, url) {
    let response;
    try {
      response = await fetch(url, { method, headers: { Accept: 'application/json' }, cache: 'no-store' });
    } catch {
      throw new ApiError(UNREACHABLE, 0);
    }
    if (response.status === 204) return null;
    const json = parseJson(await response.text().catch(() => ''));
    if (!response.ok) throw new ApiError(errorText(response.status, json), response.status);
    return json ? json.data : null;
  }

  // ---- Notices and announcements ------------------------------------------

  const notices = $('#notices');
  const live = el('div', { class: 'visually-hidden', 'aria-live': 'polite', id: 'live' });
  body.append(live);

  /** Says `text` to screen readers without showing it. */
  function announce(text) {
    live.textContent = '';
    window.setTimeout(() => { live.textContent = text; }, 50);
  }

  /** Shows a message above the listing: 'error' stays, 'ok' fades after a while. */
  function notify(kind, text) {
    if (!notices) return;
    const close = el('button', { type: 'button', class: 'icon-btn', 'aria-label': 'Dismiss this message' }, icon('close'));
    const notice = el('div', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' },
      icon(kind === 'error' ? 'alert' : 'check'), el('p', {}, richText(text)), close);
    close.addEventListener('click', () => notice.remove());
    notices.append(notice);
    while (notices.children.length > 4) notices.firstElementChild.remove();
    if (kind !== 'error') window.setTimeout(() => notice.remove(), 6000);
  }

  // ---- The listing's state ----------------------------------------------

  const table = $('#files');
  const tbody = table.tBodies[0];
  const parentRow = $('tr.parent', tbody);
  const emptyNote = $('.empty');
  const noMatch = $('.no-match');
  const filterInput = $('#filter');
  const newFolderButton = $('#new-folder');

  /** The folder's own links (upload, mkdir, archive…), once the API answered. */
  let dirLinks = null;
  /** Entries: { name, kind: 'dir'|'file', bytes, mtime, time, href, links }. */
  let entries = [];

  /** The href of an entry (html.rs `entry_href`): `/api/` belongs to the server. */
  function entryHref(kind, name) {
    const full = joinPath(dir, name);
    const path = full === '/api' || full.startsWith('/api/') ? `${API}${encodePath(full)}` : encodePath(full);
    return kind === 'dir' ? `${path}/` : path;
  }

  /** Reads the server-rendered rows, so sorting and filtering work at once. */
  function entriesFromRows() {
    return [...tbody.querySelectorAll('tr.entry')].map((tr) => {
      const kind = tr.classList.contains('dir') ? 'dir' : 'file';
      const time = $('time', tr);
      const mtime = time ? time.getAttribute('datetime') : null;
      return {
        name: tr.dataset.name,
        kind,
        bytes: Number(tr.dataset.bytes),
        mtime,
        time: mtime ? Date.parse(mtime) : NaN,
        href: $('td.name a', tr).getAttribute('href'),
        links: null,
        canDownload: Boolean($('td.actions a[download]', tr)),
      };
    });
  }

  function entriesFromApi(data) {
    const dirs = data.directories.filter((d) => d.name !== '..').map((d) => ({
      name: d.name,
      kind: 'dir',
      bytes: -1,
      mtime: d.mtime || null,
      time: d.mtime ? Date.parse(d.mtime) : NaN,
      href: entryHref('dir', d.name),
      links: d.links,
    }));
    const files = data.files.map((f) => ({
      name: f.name,
      kind: 'file',
      bytes: f.bytes,
      mtime: f.mtime || null,
      time: f.mtime ? Date.parse(f.mtime) : NaN,
      href: entryHref('file', f.name),
      links: f.links,
      canDownload: Boolean(linkFor(f.links, 'download')),
    }));
    return [...dirs, ...files];
  }

  let refreshCount = 0;

  /** Reloads the listing from the API and renders it; `flashName` is highlighted. */
  async function refresh(flashName) {
    const ticket = ++refreshCount;
    let data;
    try {
      data = await call('GET', apiUrl(dir, 'cmd=list'));
    } catch (err) {
      if (ticket === refreshCount) notify('error', `The listing could not be refreshed. ${err.message}`);
      return;
    }
    if (ticket !== refreshCount || !data) return;
    dirLinks = data.links || [];
    // The API lists folders without times; keep those the page showed.
    const known = new Map(entries.map((e) => [`${e.kind}/${e.name}`, e]));
    entries = entriesFromApi(data).map((e) => {
      const before = known.get(`${e.kind}/${e.name}`);
      return e.mtime || !before || !before.mtime ? e : { ...e, mtime: before.mtime, time: before.time };
    });
    if (newFolderButton) newFolderButton.hidden = !linkFor(dirLinks, 'mkdir');
    render();
    table.dataset.source = 'api';
    if (flashName) {
      const row = [...tbody.rows].find((r) => r.dataset.name === flashName);
      if (row) {
        row.classList.add('flash');
        row.scrollIntoView({ block: 'nearest' });
      }
    }
  }

  // ---- Sorting ------------------------------------------------------------

  const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
  const SORT_NAMES = { name: 'name', size: 'size', modified: 'date modified' };
  let sort = { key: 'name', dir: 1 };
  try {
    const saved = JSON.parse(window.localStorage.getItem(SORT_STORE) || 'null');
    if (saved && SORT_NAMES[saved.key] && (saved.dir === 1 || saved.dir === -1)) sort = saved;
  } catch { /* storage may be off: keep the default */ }

  function compare(a, b) {
    if (a.kind !== b.kind) return a.kind === 'dir' ? -1 : 1; // folders first, always
    let order = 0;
    if (sort.key === 'size' && a.kind === 'file') order = a.bytes - b.bytes;
    else if (sort.key === 'modified') order = (a.time || 0) - (b.time || 0);
    if (order === 0) order = collator.compare(a.name, b.name) || (a.name < b.name ? -1 : 1);
    return order * sort.dir;
  }

  const headers = [...table.tHead.rows[0].cells].filter((th) => th.dataset.sort);
  for (const th of headers) {
    const label = th.textContent;
    const button = el('button', { type: 'button' }, label, icon('sort'));
    button.addEventListener('click', () => {
      const key = th.dataset.sort;
      sort = sort.key === key ? { key, dir: -sort.dir } : { key, dir: key === 'name' ? 1 : -1 };
      try { window.localStorage.setItem(SORT_STORE, JSON.stringify(sort)); } catch { /* fine */ }
      render();
      const way = sort.key === 'name'
        ? (sort.dir === 1 ? 'A to Z' : 'Z to A')
        : sort.key === 'size'
          ? (sort.dir === 1 ? 'smallest first' : 'largest first')
          : (sort.dir === 1 ? 'oldest first' : 'newest first');
      announce(`Sorted by ${SORT_NAMES[key]}, ${way}.`);
    });
    th.replaceChildren(button);
  }

  function showSortState() {
    for (const th of headers) {
      const active = th.dataset.sort === sort.key;
      const button = $('button', th);
      button.replaceChild(icon(active ? (sort.dir === 1 ? 'sort-asc' : 'sort-desc') : 'sort'), $('svg', button));
      if (active) th.setAttribute('aria-sort', sort.dir === 1 ? 'ascending' : 'descending');
      else th.removeAttribute('aria-sort');
    }
  }

  // ---- Rendering rows ------------------------------------------------------

  function row(entry) {
    const isDir = entry.kind === 'dir';
    const link = el('a', { href: entry.href, download: !isDir },
      icon(isDir ? 'folder' : kindOf(entry.name)), el('span', { class: 'label', text: entry.name }));
    const size = isDir ? el('span', { class: 'kind-word', text: 'Folder' }) : sizeText(entry.bytes);
    const modified = el('td', { class: 'modified' });
    if (entry.mtime && !Number.isNaN(entry.time)) {
      modified.append(el('time', { datetime: entry.mtime, title: fullDate.format(new Date(entry.time)), text: dateText(entry.time) }));
    }
    const actions = el('td', { class: 'actions' });
    if (!isDir && entry.canDownload) {
      actions.append(el('a', { class: 'icon-btn', href: entry.href, download: true, 'aria-label': `Download ${entry.name}`, title: 'Download' }, icon('download')));
    }
    if (menuItems(entry).length) {
      const more = el('button', {
        type: 'button', class: 'icon-btn more', 'aria-haspopup': 'menu', 'aria-expanded': 'false',
        'aria-label': `More actions for ${entry.name}`, title: 'More actions',
      }, icon('more'));
      more.addEventListener('click', () => toggleMenu(more, entry));
      actions.append(more);
    }
    const tr = el('tr', { class: `entry ${entry.kind}`, 'data-name': entry.name, 'data-bytes': String(isDir ? -1 : entry.bytes) },
      el('td', { class: 'name' }, link), el('td', { class: 'size' }, size), modified, actions);
    return tr;
  }

  function render() {
    closeMenu();
    const sorted = [...entries].sort(compare);
    const rows = sorted.map(row);
    tbody.replaceChildren(...(parentRow ? [parentRow] : []), ...rows);
    showSortState();
    applyFilter(false);
  }

  // ---- Filtering -------------------------------------------------------------

  let filterAnnounce = 0;

  function applyFilter(speak = true) {
    const query = filterInput ? filterInput.value.trim().toLocaleLowerCase() : '';
    let shown = 0;
    const rows = [...tbody.querySelectorAll('tr.entry')];
    for (const tr of rows) {
      const hit = !query || tr.dataset.name.toLocaleLowerCase().includes(query);
      tr.hidden = !hit;
      if (hit) shown += 1;
    }
    if (parentRow) parentRow.hidden = Boolean(query);
    if (emptyNote) emptyNote.hidden = rows.length > 0 || Boolean(query);
    noMatch.hidden = !query || shown > 0;
    noMatch.textContent = `Nothing in this folder has “${filterInput ? filterInput.value.trim() : ''}” in its name.`;
    if (speak && query) {
      window.clearTimeout(filterAnnounce);
      filterAnnounce = window.setTimeout(() => announce(`${shown} of ${rows.length} shown.`), 400);
    }
  }

  if (filterInput) {
    filterInput.addEventListener('input', () => applyFilter());
    filterInput.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && filterInput.value) {
        filterInput.value = '';
        applyFilter();
      }
    });
    document.addEventListener('keydown', (e) => {
      const typing = e.target.closest && e.target.closest('input, textarea, select, [contenteditable], dialog');
      if (e.key === '/' && !typing && !e.ctrlKey && !e.metaKey && !e.altKey) {
        e.preventDefault();
        filterInput.focus();
      }
    });
  }

  // ---- The per-entry menu ------------------------------------------------------

  function menuItems(entry) {
    const items = [];
    const links = entry.links;
    if (!links) return items;
    const archive = linkFor(links, 'archive');
    if (archive) {
      items.push({ label: 'Download as .zip', icon: 'download', href: fill(archive, 'zip') });
      items.push({ label: 'Download as .tar.gz', icon: 'download', href: fill(archive, 'tar.gz') });
    }
    if (linkFor(links, 'info')) items.push({ label: 'Info and SHA-256', icon: 'info', run: () => showInfo(entry) });
    if (linkFor(links, 'move')) items.push({ label: 'Rename or move', icon: 'rename', run: () => renameEntry(entry) });
    if (linkFor(links, 'copy')) items.push({ label: 'Copy', icon: 'copy', run: () => copyEntry(entry) });
    if (linkFor(links, 'delete')) items.push({ label: 'Delete', icon: 'trash', danger: true, run: () => deleteEntry(entry) });
    return items;
  }

  let openMenu = null;

  function closeMenu(returnFocus = false) {
    if (!openMenu) return;
    const { menu, button } = openMenu;
    openMenu = null;
    menu.remove();
    button.setAttribute('aria-expanded', 'false');
    if (returnFocus) button.focus();
  }

  function toggleMenu(button, entry) {
    if (openMenu && openMenu.button === button) {
      closeMenu(true);
      return;
    }
    closeMenu();
    const menu = el('div', { class: 'menu', role: 'menu', 'aria-label': `Actions for ${entry.name}` });
    for (const item of menuItems(entry)) {
      if (item.danger && menu.children.length) menu.append(el('hr', { role: 'separator' }));
      const props = { role: 'menuitem', tabindex: '-1', class: item.danger ? 'danger' : undefined };
      const node = item.href
        ? el('a', { ...props, href: item.href, download: true }, icon(item.icon), item.label)
        : el('button', { ...props, type: 'button' }, icon(item.icon), item.label);
      node.addEventListener('click', () => {
        // Focus goes back to the menu's button first, so that a dialog
        // opened next returns it there when it closes.
        closeMenu(true);
        if (item.run) item.run();
      });
      menu.append(node);
    }
    menu.addEventListener('keydown', (e) => {
      const items = [...menu.querySelectorAll('[role="menuitem"]')];
      const at = items.indexOf(document.activeElement);
      const moves = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: items.length - 1 };
      if (e.key in moves) {
        e.preventDefault();
        items[(moves[e.key] + items.length) % items.length].focus();
      } else if (e.key === 'Escape') {
        e.preventDefault();
        closeMenu(true);
      } else if (e.key === 'Tab') {
        closeMenu(true);
      }
    });
    body.append(menu);
    const r = button.getBoundingClientRect();
    const height = menu.offsetHeight;
    const below = r.bottom + 4 + height <= window.innerHeight || r.top < height + 8;
    const top = below ? r.bottom + 4 : r.top - height - 4;
    const left = Math.max(8, Math.min(r.right - menu.offsetWidth, document.documentElement.clientWidth - menu.offsetWidth - 8));
    menu.style.top = `${window.scrollY + top}px`;
    menu.style.left = `${window.scrollX + left}px`;
    button.setAttribute('aria-expanded', 'true');
    openMenu = { menu, button };
    const first = menu.querySelector('[role="menuitem"]');
    if (first) first.focus();
  }

  document.addEventListener('pointerdown', (e) => {
    if (openMenu && !openMenu.menu.contains(e.target) && !openMenu.button.contains(e.target)) closeMenu();
  });
  window.addEventListener('resize', () => closeMenu());

  // ---- Dialogs --------------------------------------------------------------------

  let dialogCount = 0;

  /**
   * A modal form. `field` adds one text input; `action(value)` runs on submit
   * and may throw: its message is shown in the dialog, which stays open.
   * Resolves to true when the action succeeded, false when cancelled.
   */
  function openDialog({ title, text, field, submit, danger = false, action, content }) {
    return new Promise((resolve) => {
      const id = `dialog-${++dialogCount}`;
      const returnTo = document.activeElement;
      const dialog = el('dialog', { 'aria-labelledby': `${id}-title` });
      const error = el('p', { class: 'dialog-error', role: 'alert', hidden: true });
      let input = null;
      const parts = [el('h2', { id: `${id}-title` }, richText(title))];
      if (text) parts.push(el('p', {}, richText(text)));
      if (content) parts.push(content);
      if (field) {
        input = el('input', { type: 'text', id: `${id}-input`, value: field.value || '', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': field.help ? `${id}-help` : undefined });
        parts.push(el('label', { for: `${id}-input`, text: field.label }), input);
        if (field.help) parts.push(el('p', { class: 'help', id: `${id}-help` }, richText(field.help)));
      }
      parts.push(error);
      const cancel = el('button', { type: 'button', class: 'btn', text: submit ? 'Cancel' : 'Close' });
      const ok = submit ? el('button', { type: 'submit', class: `btn ${danger ? 'danger' : 'primary'}`, text: submit }) : null;
      parts.push(el('div', { class: 'dialog-buttons' }, cancel, ok));
      const form = el('form', {}, ...parts);
      dialog.append(form);
      let succeeded = false;
      cancel.addEventListener('click', () => dialog.close());
      dialog.addEventListener('close', () => {
        dialog.remove();
        if (!succeeded && returnTo && returnTo.isConnected) returnTo.focus();
        resolve(succeeded);
      });
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        if (!action) return dialog.close();
        ok.disabled = true;
        cancel.disabled = true;
        error.hidden = true;
        try {
          await action(input ? input.value : undefined);
          succeeded = true;
          dialog.close();
        } catch (err) {
          error.replaceChildren(richText(err.message || String(err)));
          error.hidden = false;
          ok.disabled = false;
          cancel.disabled = false;
          if (input) input.focus();
        }
      });
      body.append(dialog);
      dialog.showModal();
      if (input) {
        input.focus();
        const stem = field.select === 'stem' ? input.value.lastIndexOf('.') : -1;
        input.setSelectionRange(0, stem > 0 ? stem : input.value.length);
      } else {
        cancel.focus();
      }
    });
  }

  /** Turns what the user typed into a path from the root; '' for the same folder. */
  function resolveDest(typed) {
    const value = typed.trim();
    if (!value) throw new Error('Type a name first.');
    const start = value.startsWith('/') ? [] : dir.split('/').filter(Boolean);
    for (const part of value.split('/')) {
      if (part === '' || part === '.') continue;
      if (part === '..') {
        if (!start.length) throw new Error('That path leads above the shared folder.');
        start.pop();
      } else {
        start.push(part);
      }
    }
    return `/${start.join('/')}${value.endsWith('/') && start.length ? '/' : ''}`;
  }

  const DEST_HELP = 'A new name keeps it in this folder. To put it elsewhere, type a path from the top of the shared folder, such as `/projects/`.';

  /** Focuses something sensible after the entry's row went away. */
  function focusAfterRemoval(index) {
    const rows = [...tbody.querySelectorAll('tr.entry:not([hidden])')];
    const target = rows[Math.min(index, rows.length - 1)];
    if (target) $('td.name a', target).focus();
    else if (filterInput) filterInput.focus();
  }

  async function renameEntry(entry) {
    const source = joinPath(dir, entry.name);
    let movedTo = null;
    await openDialog({
      title: `Rename or move “${entry.name}”`,
      field: { label: 'New name or path', value: entry.name, help: DEST_HELP, select: entry.kind === 'file' ? 'stem' : 'all' },
      submit: 'Rename',
      action: async (typed) => {
        const dest = resolveDest(typed);
        if (dest === source) return;
        await call('POST', fill(linkFor(entry.links, 'move'), dest));
        movedTo = dest;
      },
    });
    if (!movedTo) return;
    const newName = movedTo.split('/').filter(Boolean).pop();
    const intoFolder = movedTo.endsWith('/') || entries.some((e) => e.kind === 'dir' && e.name === newName);
    const sameFolder = movedTo.replace(/\/[^/]*$/, '') === dir.replace(/\/$/, '') && !intoFolder;
    notify('ok', sameFolder ? `Renamed to \`${newName}\`.` : `Moved \`${entry.name}\` to \`${movedTo}\`.`);
    await refresh(sameFolder ? newName : undefined);
    const moved = [...tbody.rows].find((r) => r.dataset.name === newName);
    if (moved) $('td.name a', moved).focus();
  }

  function copyName(name) {
    const dot = name.lastIndexOf('.');
    return dot > 0 ? `${name.slice(0, dot)} (copy)${name.slice(dot)}` : `${name} (copy)`;
  }

  async function copyEntry(entry) {
    let copiedTo = null;
    await openDialog({
      title: `Copy “${entry.name}”`,
      field: { label: 'Name or path of the copy', value: copyName(entry.name), help: DEST_HELP, select: entry.kind === 'file' ? 'stem' : 'all' },
      submit: 'Copy',
      action: async (typed) => {
        const dest = resolveDest(typed);
        await call('POST', fill(linkFor(entry.links, 'copy'), dest));
        copiedTo = dest;
      },
    });
    if (!copiedTo) return;
    notify('ok', `Copied \`${entry.name}\` to \`${copiedTo}\`.`);
    await refresh(copiedTo.split('/').filter(Boolean).pop());
  }

  async function deleteEntry(entry) {
    const index = [...tbody.querySelectorAll('tr.entry:not([hidden])')].findIndex((r) => r.dataset.name === entry.name);
    const deleted = await openDialog({
      title: entry.kind === 'dir' ? `Delete the folder “${entry.name}”?` : `Delete “${entry.name}”?`,
      text: entry.kind === 'dir'
        ? `The folder \`${entry.name}\` and everything in it will be deleted from the shared folder. This cannot be undone.`
        : `The file \`${entry.name}\` will be deleted from the shared folder. This cannot be undone.`,
      submit: 'Delete',
      danger: true,
      action: () => call('DELETE', linkFor(entry.links, 'delete').href),
    });
    if (!deleted) return;
    notify('ok', `Deleted \`${entry.name}\`.`);
    await refresh();
    focusAfterRemoval(Math.max(0, index));
  }

  async function newFolder() {
    let created = null;
    await openDialog({
      title: 'New folder',
      text: dir === '/' ? 'It will be created at the top of the shared folder.' : `It will be created in \`${dir}\`.`,
      field: { label: 'Folder name', value: '' },
      submit: 'Create',
      action: async (typed) => {
        const name = typed.trim().replace(/^\/+|\/+$/g, '');
        if (!name) throw new Error('Type a name for the new folder.');
        const mkdir = linkFor(dirLinks, 'mkdir');
        await call('POST', mkdir ? fill(mkdir, name) : apiUrl(dir, `cmd=mkdir&dir=${encodeURIComponent(name)}`));
        created = name;
      },
    });
    if (!created) return;
    notify('ok', `Created the folder \`${created}\`.`);
    const top = created.split('/')[0];
    await refresh(top);
    const made = [...tbody.rows].find((r) => r.dataset.name === top);
    if (made) $('td.name a', made).focus();
  }

  if (newFolderButton) newFolderButton.addEventListener('click', newFolder);

  function showInfo(entry) {
    const list = el('dl', {}, el('dt', { text: 'Status' }), el('dd', { text: 'Reading the file…' }));
    openDialog({ title: entry.name, content: list });
    call('GET', linkFor(entry.links, 'info').href).then((info) => {
      const rows = [
        ['Size', `${sizeText(info.size)} (${Number(info.size).toLocaleString()} bytes)`],
        ['Folder', info.path],
        ['Modified', info.mtime ? fullDate.format(new Date(info.mtime)) : '—'],
        ['SHA-256', info.checksum, 'hash'],
      ];
      list.replaceChildren(...rows.flatMap(([term, value, cls]) => [el('dt', { text: term }), el('dd', { class: cls, text: value })]));
    }).catch((err) => {
      list.replaceChildren(el('dt', { text: 'Error' }), el('dd', {}, richText(err.message)));
    });
  }

  // ---- Uploads ----------------------------------------------------------------------

  const form = $('#upload');
  const fileInput = $('#file-input');
  const folderInput = $('#folder-input');
  const folderButton = $('#pick-folder');
  const panel = $('#uploads');
  const queue = [];
  let running = 0;
  let doneSinceRefresh = 0;
  let summary = null;

  function buildPanel() {
    if (summary) return;
    summary = el('span', { class: 'uploads-summary' });
    const clear = el('button', { type: 'button', class: 'btn quiet', text: 'Clear finished' });
    clear.addEventListener('click', () => {
      for (const item of queue.filter((i) => i.state === 'done')) {
        item.node.remove();
        queue.splice(queue.indexOf(item), 1);
      }
      if (!queue.length) panel.hidden = true;
      updateSummary();
    });
    panel.replaceChildren(
      el('div', { class: 'uploads-head' }, el('h2', { text: 'Uploads' }), summary, clear),
      el('ol', { 'aria-label': 'Files being uploaded' }),
    );
  }

  function updateSummary() {
    if (!summary) return;
    const count = (state) => queue.filter((i) => i.state === state).length;
    const done = count('done');
    const failed = count('failed');
    const busy = count('uploading') + count('waiting');
    const parts = [];
    if (busy) parts.push(`${busy} to go`);
    if (done) parts.push(`${done} done`);
    if (failed) parts.push(`${failed} failed`);
    const speed = queue.filter((i) => i.state === 'uploading').reduce((s, i) => s + (i.speed || 0), 0);
    if (busy && speed) parts.push(`${sizeText(Math.round(speed))}/s`);
    summary.textContent = parts.join(' · ');
  }

  /** Queues `files` ([{ file, path }], path relative to `base`) after creating `folders`. */
  async function addUploads(files, folders, base) {
    if (!files.length && !folders.length) return;
    buildPanel();
    panel.hidden = false;
    const list = $('ol', panel);
    const items = files.map(({ file, path }) => {
      const item = { file, path, base, state: 'waiting', ready: false, loaded: 0, speed: 0 };
      item.node = itemNode(item);
      list.append(item.node);
      queue.push(item);
      draw(item);
      return item;
    });
    updateSummary();
    const sorted = [...new Set(folders)].sort((a, b) => a.split('/').length - b.split('/').length || a.localeCompare(b));
    for (const folder of sorted) {
      try {
        await call('POST', apiUrl(base, `cmd=mkdir&dir=${encodeURIComponent(folder)}`));
        doneSinceRefresh += 1;
      } catch (err) {
        // 400: it exists already, which is fine for a folder upload.
        if (err.status !== 400) notify('error', `The folder \`${folder}\` could not be created. ${err.message}`);
      }
    }
    for (const item of items) item.ready = true;
    pump();
  }

  function itemNode(item) {
    const shownPath = item.path.includes('/') ? item.path : null;
    const name = el('div', { class: 'upload-name' }, item.file.name);
    if (shownPath) name.append(' ', el('span', { class: 'in', text: `in ${shownPath.slice(0, shownPath.lastIndexOf('/'))}` }));
    item.fill = el('span');
    item.bar = el('div', { class: 'bar', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': '0', 'aria-label': `Upload of ${item.path}` }, item.fill);
    item.status = el('span', { class: 'upload-status' });
    item.error = el('p', { class: 'upload-error', hidden: true });
    item.cancel = el('button', { type: 'button', class: 'icon-btn', 'aria-label': `Cancel the upload of ${item.path}`, title: 'Cancel' }, icon('close'));
    item.retry = el('button', { type: 'button', class: 'icon-btn', 'aria-label': `Retry the upload of ${item.path}`, title: 'Retry', hidden: true }, icon('retry'));
    item.cancel.addEventListener('click', () => cancelUpload(item));
    item.retry.addEventListener('click', () => retryUpload(item));
    item.icon = icon(kindOf(item.file.name));
    return el('li', { class: 'upload-item' },
      item.icon, name, el('div', { class: 'upload-buttons' }, item.cancel, item.retry),
      el('div', { class: 'upload-line' }, item.bar, item.status), item.error);
  }

  function draw(item) {
    const total = item.file.size;
    const pct = item.state === 'done' ? 100 : total ? Math.min(100, Math.floor((item.loaded / total) * 100)) : 0;
    item.fill.style.width = `${pct}%`;
    item.bar.setAttribute('aria-valuenow', String(pct));
    item.node.className = `upload-item ${item.state}`;
    let status;
    switch (item.state) {
      case 'waiting': status = item.ready ? 'Waiting' : 'Preparing folders…'; break;
      case 'uploading': {
        if (item.loaded >= total && total > 0) {
          status = '100% · saving…';
          break;
        }
        const parts = [`${pct}%`];
        if (item.speed > 0) {
          parts.push(`${sizeText(Math.round(item.speed))}/s`);
          const left = durationText((total - item.loaded) / item.speed);
          if (left) parts.push(`${left} left`);
        }
        status = parts.join(' · ');
        break;
      }
      case 'done': status = `Done · ${sizeText(total)}`; break;
      case 'failed': status = 'Failed'; break;
      default: status = 'Cancelled';
    }
    item.status.textContent = status;
    const finished = item.state === 'done' || item.state === 'failed' || item.state === 'cancelled';
    item.cancel.hidden = finished;
    item.retry.hidden = !(item.state === 'failed' || item.state === 'cancelled');
    item.error.hidden = item.state !== 'failed';
    const kind = item.state === 'done' ? 'check' : item.state === 'failed' ? 'alert' : kindOf(item.file.name);
    item.icon.setAttribute('class', kind === 'check' || kind === 'alert' ? 'icon' : `icon icon-${kind}`);
    item.icon.firstChild.setAttribute('href', `${sprite}#${kind}`);
  }

  function pump() {
    while (running < PARALLEL) {
      const next = queue.find((i) => i.state === 'waiting' && i.ready);
      if (!next) break;
      start(next);
    }
    updateSummary();
    if (queue.some((i) => i.state === 'waiting' || i.state === 'uploading')) return;
    const failed = queue.filter((i) => i.state === 'failed').length;
    if (failed) announce(`Uploads finished; ${failed} failed.`);
    else if (doneSinceRefresh) announce('All uploads finished.');
    if (doneSinceRefresh) {
      doneSinceRefresh = 0;
      refresh();
    }
  }

  function start(item) {
    running += 1;
    item.state = 'uploading';
    item.loaded = 0;
    item.speed = 0;
    item.startedAt = performance.now();
    item.mark = { time: item.startedAt, loaded: 0 };
    const xhr = new XMLHttpRequest();
    item.xhr = xhr;
    let settled = false;
    const settle = (state, message) => {
      if (settled) return;
      settled = true;
      running -= 1;
      item.state = state;
      item.xhr = null;
      if (state === 'done') {
        item.loaded = item.file.size;
        doneSinceRefresh += 1;
      }
      if (message) item.error.replaceChildren(richText(message));
      draw(item);
      pump();
    };
    xhr.open('POST', apiUrl(joinPath(item.base, item.path), 'cmd=upload'));
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.upload.addEventListener('progress', (e) => {
      const now = performance.now();
      item.loaded = e.loaded;
      const elapsed = (now - item.mark.time) / 1000;
      if (elapsed >= 0.5) {
        const recent = (e.loaded - item.mark.loaded) / elapsed;
        item.speed = item.speed ? item.speed * 0.6 + recent * 0.4 : recent;
        item.mark = { time: now, loaded: e.loaded };
      } else if (!item.speed && now - item.startedAt > 150) {
        item.speed = e.loaded / ((now - item.startedAt) / 1000);
      }
      draw(item);
      updateSummary();
    });
    xhr.addEventListener('load', () => {
      if (xhr.status >= 200 && xhr.status < 300) settle('done');
      else settle('failed', errorText(xhr.status, parseJson(xhr.responseText)));
    });
    xhr.addEventListener('error', () => settle('failed', 'The connection to the server was lost before the upload finished.'));
    xhr.addEventListener('abort', () => settle('cancelled'));
    xhr.addEventListener('timeout', () => settle('failed', 'The server took too long to answer.'));
    xhr.send(item.file);
    draw(item);
  }

  function cancelUpload(item) {
    if (item.state === 'uploading' && item.xhr) item.xhr.abort();
    else if (item.state === 'waiting') {
      item.state = 'cancelled';
      draw(item);
      pump();
    }
    item.retry.focus();
  }

  function retryUpload(item) {
    item.state = 'waiting';
    item.ready = true;
    item.loaded = 0;
    draw(item);
    item.cancel.focus();
    pump();
  }

  /** Every folder on the way to each file: 'a/b/c.txt' needs 'a' and 'a/b'. */
  function foldersOf(paths) {
    const folders = new Set();
    for (const path of paths) {
      const parts = path.split('/').slice(0, -1);
      for (let i = 1; i <= parts.length; i += 1) folders.add(parts.slice(0, i).join('/'));
    }
    return [...folders];
  }

  const isHidden = (path) => path.split('/').some((part) => part.startsWith('.'));

  /** Queues picked or dropped files; hidden ones (`.name`) are left out and said so. */
  function queueFiles(picked, extraFolders = []) {
    const visible = picked.filter((f) => !isHidden(f.path));
    const skipped = picked.length - visible.length;
    if (skipped) notify('ok', `${skipped} hidden item${skipped === 1 ? ' was' : 's were'} left out (names starting with “.”).`);
    let files = visible.slice(0, MAX_FILES);
    if (visible.length > MAX_FILES) notify('error', `Only the first ${MAX_FILES} files were queued; upload the rest separately.`);
    let folders = [...foldersOf(files.map((f) => f.path)), ...extraFolders.filter((f) => !isHidden(f))];
    if (folders.length && !linkFor(dirLinks, 'mkdir') && dirLinks) {
      notify('error', 'Folders cannot be created here, so only the loose files were uploaded.');
      files = files.filter((f) => !f.path.includes('/'));
      folders = [];
    }
    addUploads(files, folders, dir);
  }

  if (form) {
    form.addEventListener('submit', (e) => e.preventDefault());
    fileInput.addEventListener('change', () => {
      queueFiles([...fileInput.files].map((file) => ({ file, path: file.name })));
      fileInput.value = '';
    });
    if (folderButton && folderInput) {
      folderButton.addEventListener('click', () => folderInput.click());
      folderInput.addEventListener('change', () => {
        queueFiles([...folderInput.files].map((file) => ({ file, path: file.webkitRelativePath || file.name })));
        folderInput.value = '';
      });
    }

    // Dropping files or folders anywhere on the page.
    const overlay = el('div', { class: 'drop-overlay', hidden: true },
      el('p', {}, 'Drop to upload into ', el('strong', { text: dir === '/' ? 'Home' : dir.split('/').pop() })));
    body.append(overlay);
    let depth = 0;
    const carriesFiles = (e) => e.dataTransfer && [...e.dataTransfer.types].includes('Files');
    document.addEventListener('dragenter', (e) => {
      if (!carriesFiles(e)) return;
      e.preventDefault();
      depth += 1;
      overlay.hidden = false;
      form.classList.add('dragging');
    });
    document.addEventListener('dragover', (e) => {
      if (!carriesFiles(e)) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = 'copy';
    });
    const endDrag = () => {
      depth = 0;
      overlay.hidden = true;
      form.classList.remove('dragging');
    };
    document.addEventListener('dragleave', (e) => {
      if (!carriesFiles(e)) return;
      depth -= 1;
      if (depth <= 0) endDrag();
    });
    document.addEventListener('drop', (e) => {
      if (!carriesFiles(e)) return;
      e.preventDefault();
      endDrag();
      // Entries must be taken now: the drop's data is gone once this returns.
      const items = [...e.dataTransfer.items].filter((i) => i.kind === 'file');
      const roots = items.map((i) => (i.webkitGetAsEntry ? i.webkitGetAsEntry() : null));
      if (!roots.some(Boolean)) {
        queueFiles([...e.dataTransfer.files].map((file) => ({ file, path: file.name })));
        return;
      }
      collectEntries(roots.filter(Boolean)).then(({ files, folders }) => queueFiles(files, folders))
        .catch(() => notify('error', 'The dropped items could not be read. Try choosing them with the buttons instead.'));
    });
  }

  /** Walks dropped entries: files with their relative paths, and every folder (empty ones too). */
  async function collectEntries(roots) {
    const files = [];
    const folders = [];
    const pending = roots.map((entry) => ({ entry, prefix: '' }));
    let steps = 0;
    while (pending.length && files.length <= MAX_FILES && steps < 100000) {
      steps += 1;
      const { entry, prefix } = pending.shift();
      if (entry.isFile) {
        const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
        files.push({ file, path: prefix + entry.name });
      } else if (entry.isDirectory) {
        const path = prefix + entry.name;
        folders.push(path);
        const reader = entry.createReader();
        for (let batch = 0; batch < 1000; batch += 1) {
          const children = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
          if (!children.length) break;
          for (const child of children) pending.push({ entry: child, prefix: `${path}/` });
        }
      }
    }
    return { files, folders };
  }

  // ---- Start ---------------------------------------------------------------------

  entries = entriesFromRows();
  render();
  refresh();
  window.addEventListener('pageshow', (e) => {
    if (e.persisted) refresh();
  });
  window.addEventListener('beforeunload', (e) => {
    if (queue.some((i) => i.state === 'uploading' || i.state === 'waiting')) {
      e.preventDefault();
      e.returnValue = '';
    }
  });
})();
