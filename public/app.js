// The dashboard: one hand-written module, no build step, no request to anywhere but this node.
// Every figure comes from the documented API (README "Dashboard"); live changes arrive as
// Server-Sent Events (/api/events). All text from the node is put in the page with textContent,
// never parsed as HTML.

const $ = (id) => document.getElementById(id)
const state = { csrf: null, nodeId: '', view: '', files: [], peers: [], messages: [], filter: '', level: '', timer: 0, fileLimit: 100, jobs: new Map() }

/** Builds an element: el('td', { class: 'num', title: '…' }, 'text', child…). Text is always text. */
function el (tag, attrs = {}, ...children) {
  const svg = ['svg', 'rect', 'text', 'g', 'title', 'line'].includes(tag)
  const node = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag) : document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue
    if (k.startsWith('on')) node.addEventListener(k.slice(2), v)
    else node.setAttribute(k, v === true ? '' : String(v))
  }
  for (const c of children.flat()) if (c !== undefined && c !== null) node.append(c instanceof Node ? c : document.createTextNode(String(c)))
  return node
}

function formatBytes (n) {
  if (n < 1024) return `${n} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let v = n
  let i = -1
  do { v /= 1024; i++ } while (v >= 1024 && i < units.length - 1)
  return `${v >= 10 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`
}

// One formatter for every date: building an Intl formatter per call costs more than the row it is for.
const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })
const collator = new Intl.Collator(undefined, { numeric: true })
const hourFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' })

function formatTime (iso) {
  return iso ? dateFormat.format(new Date(iso)) : '—'
}

function formatDuration (s) {
  const d = Math.floor(s / 86400); const h = Math.floor(s % 86400 / 3600); const m = Math.floor(s % 3600 / 60)
  return d > 0 ? `${d} d ${h} h` : h > 0 ? `${h} h ${m} min` : m > 0 ? `${m} min` : `${s} s`
}

const short = (id) => id ? `…${id.slice(-8)}` : '(not reached)'

class ApiError extends Error {
  constructor (status, code, message) { super(message); this.status = status; this.code = code }
}

/** The data of the view the page opens on, asked for at once, alongside the session (one round trip less). */
const VIEW_DATA = { overview: '/api/dashboard/overview', files: '/api/dashboard/files', peers: '/api/dashboard/peers' }
const prefetched = new Map()
const firstView = location.hash.slice(1).split('?')[0]
const firstPath = VIEW_DATA[firstView] ?? (firstView === 'messages' ? undefined : VIEW_DATA.overview)
if (firstPath) prefetched.set(firstPath, fetch(firstPath, { credentials: 'same-origin' }))

/** A call to the node's API with the session cookie; state changes carry the session's CSRF token. */
async function api (path, options = {}) {
  const headers = { ...(options.headers ?? {}) }
  if (options.method && options.method !== 'GET' && state.csrf) headers['x-dv-csrf'] = state.csrf
  const early = options.method ? undefined : prefetched.get(path)
  prefetched.delete(path)
  let res
  try {
    res = await (early ?? fetch(path, { ...options, headers, credentials: 'same-origin' }))
  } catch {
    throw new ApiError(0, 'UNREACHABLE', 'the node does not answer (stopped?)')
  }
  if (res.status === 401) { showLogin(); throw new ApiError(401, 'UNAUTHORIZED', 'not signed in') }
  if (!res.ok) {
    const body = await res.json().catch(() => ({}))
    throw new ApiError(res.status, body.error?.code ?? 'ERROR', body.error?.message ?? `HTTP ${res.status}`)
  }
  return options.raw ? res : await res.json()
}

function banner (text, kind = 'error') {
  const b = $('banner')
  b.hidden = text === ''
  b.className = `banner ${kind}`
  b.textContent = text
}

function showLogin () {
  clearInterval(state.timer)
  state.events?.close()
  for (const v of document.querySelectorAll('main > section')) v.hidden = v.id !== 'view-login'
  $('nav').hidden = true
  $('logout').hidden = true
  $('node-short').textContent = ''
}

// ---------------------------------------------------------------- Overview

function barChart (rows, { series, colors, labels, height = 140, legend }) {
  const width = 720
  const max = Math.max(1, ...rows.map(r => series.reduce((s, k) => s + r[k], 0)))
  const bw = width / Math.max(rows.length, 1)
  const svg = el('svg', { viewBox: `0 0 ${width} ${height + 20}`, role: 'img', 'aria-label': legend })
  rows.forEach((r, i) => {
    let y = height
    const g = el('g')
    for (const [j, k] of series.entries()) {
      const h = Math.round(r[k] / max * (height - 4))
      y -= h
      g.append(el('rect', { x: i * bw + 2, y, width: Math.max(bw - 4, 1), height: h, class: colors[j] }))
    }
    g.append(el('title', {}, `${labels(r, i)}: ${series.map(k => `${k} ${formatBytes(r[k])}`).join(', ')}`))
    svg.append(g)
  })
  svg.append(el('line', { x1: 0, y1: height, x2: width, y2: height, class: 'axis' }))
  return svg
}

function legendOf (items) {
  return el('p', { class: 'legend' }, items.map(([cls, text]) => el('span', {}, el('i', { class: `swatch ${cls}` }), text)))
}

function storageChart (storage) {
  if (storage.length === 0) return el('p', { class: 'empty' }, 'Nothing stored yet.')
  const max = Math.max(...storage.map(s => s.bytes), 1)
  return el('div', { class: 'hbars' }, storage.map(s => {
    const bar = el('div', { class: `hbar ${s.own ? 'own' : 'held'}` })
    bar.style.width = `${Math.max(1, s.bytes / max * 100)}%`
    return el('div', { class: 'hrow' },
      el('span', { class: 'hlabel mono', title: s.owner }, s.own ? 'mine (own folder)' : `held for ${short(s.owner)}`),
      el('span', { class: 'htrack' }, bar),
      el('span', { class: 'num' }, formatBytes(s.bytes)))
  }), legendOf([['own', 'my files'], ['held', 'held for others']]))
}

function dl (pairs) {
  return pairs.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)])
}

/** What `status`'s reachability means for the user (README "status"). */
const REACHABILITY_WORDS = {
  public: 'yes: peers can dial this node',
  relayed: 'through a relay (this node is behind NAT)',
  unreachable: 'no: peers cannot dial this node',
  unknown: 'not known yet (no peer has dialled back)'
}

async function renderOverview () {
  const o = await api('/api/dashboard/overview')
  $('ov-node').replaceChildren(...dl([
    ['Node ID', el('span', { class: 'mono wrap' }, o.nodeId)],
    ['Addresses', o.addresses.length === 0 ? 'none (network stopped)' : el('ul', { class: 'plain mono wrap' }, o.addresses.map(a => el('li', {}, a)))],
    ['Reachable', REACHABILITY_WORDS[o.reachability] ?? String(o.reachability ?? 'unknown')],
    ['Up', `${formatDuration(o.uptimeSeconds)} (since ${formatTime(o.startedAt)})`],
    ['Peers', `${o.peers.connected} connected, ${o.peers.away} away`],
    ['Files', String(o.files)]
  ]))
  const levels = [['full', 'full redundancy'], ['reduced', 'reduced'], ['critical', 'critical (only my copy)']]
  $('ov-redundancy').replaceChildren(...levels.map(([level, text]) =>
    el('li', {}, el('a', { href: `#files?level=${level}`, class: `count ${level}` }, el('b', {}, String(o.redundancy[level])), ` ${text}`))))
  const scrub = o.scrub ? `${formatTime(o.scrub.at)}: ${o.scrub.checked} checked, ${o.scrub.bad} bad, ${o.scrub.repaired} repaired` : 'not yet since start'
  const audit = o.audit?.at ? `${formatTime(o.audit.at)}: ${o.audit.proven}/${o.audit.checked} copies proven, ${o.audit.dropped} dropped` : 'not yet since start'
  $('ov-activity').replaceChildren(...dl([
    ['Repair', o.underReplicated === 0 ? 'nothing to repair' : `${o.underReplicated} file(s) below target: copies are made as peers allow`],
    ['Last scrub', scrub],
    ['Audits of holders', audit],
    ['Recovery', o.recoverPending ? 'restored from the phrase: run "distri-vault recover"' : 'not needed'],
    ...(o.duplicateIdentity ? [['Warning', 'another node runs with this identity: stop one']] : [])
  ]))
  $('ov-storage').replaceChildren(storageChart(o.storage))
  const hours = o.traffic
  const total = hours.reduce((s, h) => ({ sent: s.sent + h.sent, received: s.received + h.received }), { sent: 0, received: 0 })
  // Jobs that ran (or run) since the node started, unless a live event newer than this answer came.
  for (const j of o.jobs ?? []) {
    const seen = state.jobs.get(j.job)
    if (seen === undefined || seen.at < j.at) state.jobs.set(j.job, { progress: j.progress, trigger: j.trigger, at: j.at })
  }
  $('ov-traffic').replaceChildren(
    barChart(hours, { series: ['sent', 'received'], colors: ['sent', 'received'], labels: (h) => hourFormat.format(new Date(h.hour)), legend: 'bytes sent and received per hour' }),
    legendOf([['sent', `sent ${formatBytes(total.sent)}`], ['received', `received ${formatBytes(total.received)}`]]))
  renderJobs()
}

/** POST /api/scrub answers NDJSON progress lines; the progress itself is shown from the bus (jobs below). */
async function scrubNow () {
  const button = $('scrub-now')
  button.disabled = true
  try {
    const res = await api('/api/scrub', { method: 'POST', raw: true })
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
    let buffered = ''
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      buffered += value
      const lines = buffered.split('\n')
      buffered = lines.pop()
      for (const line of lines.filter(Boolean)) {
        const p = JSON.parse(line)
        if (p.error) throw new ApiError(500, p.error.code, p.error.message)
      }
    }
  } catch (err) {
    banner(`scrub failed: ${err.message}`)
  } finally {
    button.disabled = false
  }
}

// Background jobs (recover, repair, scrub, audits), whoever started them: the overview's last state
// of each, then live from the node's event bus (`job` events on /api/events).
const JOB_TITLES = { recover: 'Recovery', repair: 'Repair', scrub: 'Scrub', audit: 'Audit of a holder' }
const TRIGGER_WORDS = { timer: 'started by the node\'s schedule', peer: 'started when a peer connected', request: 'asked for' }

/** A job's progress as a fraction (undefined: not known, e.g. a scrub's total) and in words. */
function jobState (job, p) {
  if (p.phase === 'failed') return { fraction: undefined, words: `failed: ${p.error ?? 'unknown error'}` }
  const done = p.phase === 'done'
  if (job === 'audit') {
    const what = `holder ${short(p.holder)}: ${p.checked} copies checked, ${p.proven} proven, ${p.dropped} dropped`
    if (!done) return { fraction: undefined, words: `auditing holder ${short(p.holder)}` }
    return { fraction: 1, words: p.answered === false ? `holder ${short(p.holder)} did not answer (${p.dropped} copies dropped)` : `done: ${what}` }
  }
  if (job === 'recover') {
    const fraction = done ? 1 : p.found > 0 ? p.fetched / p.found : undefined
    const words = p.phase === 'listing' ? `asking ${p.peers} peer(s) what they hold` : `${p.fetched} of ${p.found} blobs back (${formatBytes(p.bytes)})${p.failed > 0 ? `, ${p.failed} failed` : ''}`
    return { fraction, words: done ? `done: ${words}` : words }
  }
  if (job === 'repair') {
    const words = `${p.done} of ${p.files} file(s) looked at, ${p.repaired} brought back to target`
    return { fraction: p.files > 0 ? p.done / p.files : 1, words: done ? `done: ${words}` : words }
  }
  if (p.phase === 'started') return { fraction: undefined, words: 'started: checking every blob on this disk' }
  const words = `${p.checked} blobs checked (${formatBytes(p.bytes)}), ${p.bad} bad${p.repaired !== undefined ? `, ${p.repaired} repaired` : ''}`
  return { fraction: done ? 1 : undefined, words: done ? `done: ${words}` : words }
}

function renderJobs () {
  const box = $('ov-jobs')
  if (!box) return
  const rows = [...state.jobs].map(([job, { progress, trigger, at }]) => {
    const { fraction, words } = jobState(job, progress)
    const bar = el('progress', { max: 100, 'aria-label': `${JOB_TITLES[job] ?? job} progress` })
    if (fraction !== undefined) bar.value = Math.round(fraction * 100)
    const phase = progress.phase === 'done' || progress.phase === 'failed' ? progress.phase : 'running'
    const by = TRIGGER_WORDS[trigger]
    return el('li', { class: `job ${phase}`, 'data-job': job, 'data-phase': progress.phase, 'data-trigger': trigger },
      el('span', { class: 'jname' }, JOB_TITLES[job] ?? job), el('span', { class: 'jstate' }, words), bar,
      el('span', { class: 'muted' }, `${by ? `${by} · ` : ''}last update ${formatTime(at)}`))
  })
  box.replaceChildren(...rows)
  $('ov-jobs-empty').hidden = rows.length > 0
}

function onJob ({ job, progress, trigger }) {
  state.jobs.set(job, { progress, trigger, at: new Date().toISOString() })
  if (state.view === 'overview') renderJobs()
  // A finished job may have changed copies or files: the view shown catches up (an audit that
  // dropped nothing changed nothing).
  if (progress.phase === 'done' && !(job === 'audit' && progress.dropped === 0)) refreshSoon()
}

// ---------------------------------------------------------------- Files

function badge (r) {
  const text = `${r.copies}/${r.target}`
  const why = r.level === 'full' ? `${r.copies} copies, all online` : r.reasons.join('\n') || 'below target'
  return el('span', { class: `badge ${r.level}`, title: why, tabindex: 0, 'aria-label': `${text} copies. ${why}`, 'data-level': r.level }, text)
}

function visibleFiles () {
  const q = state.filter.toLowerCase()
  return state.files.filter(f => (q === '' || f.name.toLowerCase().includes(q)) && (state.level === '' || f.redundancy.level === state.level))
}

/** Where a file's bytes (or a folder's tar archive) are downloaded from; `version` = N of the name's versions. */
function downloadHref (f, version) {
  const base = f.kind === 'tree' ? `/api/files/${encodeURIComponent(f.name)}/archive` : `/api/files/${encodeURIComponent(f.name)}`
  return version === undefined ? base : `${base}?version=${version}`
}

function downloadName (f, version) {
  const leaf = f.name.split('/').pop()
  const tagged = version === undefined ? leaf : `${leaf}.v${version}`
  return f.kind === 'tree' ? `${tagged}.tar` : tagged
}

function fileRow (f) {
  const name = f.kind === 'tree' ? `${f.name}/` : f.name
  return el('tr', { 'data-id': f.id },
    el('td', { class: 'name' }, el('button', { class: 'link', type: 'button', title: 'which peers hold which chunks', onclick: () => showHealth(f) }, name),
      f.kind === 'tree' ? el('span', { class: 'muted' }, ` · ${f.files} files`) : null,
      f.versions > 1 ? [el('span', { class: 'muted' }, ' · '), el('button', { type: 'button', class: 'link versions', onclick: () => showVersions(f), 'aria-label': `the ${f.versions} versions of ${f.name}` }, `${f.versions} versions`)] : null),
    el('td', { class: 'num' }, formatBytes(f.size)),
    el('td', { class: 'hide-narrow' }, formatTime(f.mtime)),
    el('td', {}, badge(f.redundancy)),
    el('td', { class: 'actions' },
      el('a', { href: downloadHref(f), download: downloadName(f), class: 'button quiet', 'aria-label': `download ${f.name}` }, 'Download'),
      el('button', { type: 'button', class: 'quiet', onclick: () => shareFile(f), 'aria-label': `copy share link of ${f.name}` }, 'Share'),
      el('button', { type: 'button', class: 'quiet danger', onclick: () => deleteFile(f), 'aria-label': `delete ${f.name}` }, 'Delete')))
}

/** A name's versions (1 = the oldest): when each was stored, its size, and a download of each. */
async function showVersions (f) {
  const body = el('div', {}, el('p', {}, 'Reading the versions…'))
  const shown = dialog(`Versions of ${f.kind === 'tree' ? `${f.name}/` : f.name}`, body)
  try {
    const versions = await api(`/api/files/${encodeURIComponent(f.name)}/versions`)
    body.replaceChildren(
      el('p', { class: 'muted' }, `From the CLI: distri-vault get ${f.name} --version N${f.kind === 'tree' ? ' -o DIR' : ''}`),
      el('div', { class: 'scroll' }, el('table', { class: 'list small', id: 'versions-table' },
        el('thead', {}, el('tr', {}, el('th', { class: 'num' }, 'Version'), el('th', {}, 'Stored'), el('th', { class: 'num' }, 'Size'), el('th', {}, el('span', { class: 'sr' }, 'Download')))),
        el('tbody', {}, [...versions].reverse().map(v => el('tr', { 'data-version': v.version },
          el('td', { class: 'num' }, v.version === versions.length ? `${v.version} (newest)` : String(v.version)),
          el('td', {}, formatTime(v.ctime)),
          el('td', { class: 'num' }, formatBytes(v.size)),
          el('td', {}, el('a', { href: downloadHref(f, v.version), download: downloadName(f, v.version), class: 'button quiet', 'aria-label': `download version ${v.version} of ${f.name}` }, 'Download'))))))))
  } catch (err) {
    body.replaceChildren(el('p', { class: 'error' }, err.message))
  }
  await shown
}

/** Rows of the files list drawn at first, and added by each "Show more": the page never draws 1,000 rows it does not show. */
const PAGE_ROWS = 100

/** Replaces a table's rows only when what they show changed, so a poll never steals keyboard focus. */
function replaceRows (table, items, makeRow) {
  const signature = JSON.stringify(items)
  if (table.dataset.signature === signature) return
  table.dataset.signature = signature
  table.tBodies[0].replaceChildren(...items.map(makeRow))
}

function renderFileRows () {
  const rows = visibleFiles()
  const shown = rows.slice(0, state.fileLimit)
  replaceRows($('files-table'), shown, fileRow)
  const more = $('files-more')
  more.hidden = rows.length <= shown.length
  more.textContent = `Show ${Math.min(PAGE_ROWS, rows.length - shown.length)} more (${rows.length - shown.length} not shown)`
  $('files-count').textContent = rows.length === state.files.length ? `${rows.length} file${rows.length === 1 ? '' : 's'}` : `${rows.length} of ${state.files.length} files`
  const empty = $('files-empty')
  empty.hidden = rows.length > 0
  empty.textContent = state.files.length === 0 ? 'No files yet: drop one above.' : 'No file matches.'
  const chip = $('file-filter')
  chip.hidden = state.level === ''
  chip.replaceChildren(`only ${state.level} redundancy `, el('a', { href: '#files' }, 'show all'))
}

async function renderFiles () {
  state.files = await api('/api/dashboard/files')
  state.files.sort((a, b) => collator.compare(a.name, b.name))
  renderFileRows()
}

function dialog (title, body, { ok } = {}) {
  const d = $('dialog')
  $('dialog-title').textContent = title
  $('dialog-body').replaceChildren(...[body].flat())
  $('dialog-ok').hidden = ok === undefined
  $('dialog-ok').textContent = ok ?? 'OK'
  $('dialog-cancel').textContent = ok === undefined ? 'Close' : 'Cancel'
  d.returnValue = ''
  d.showModal()
  return new Promise((resolve) => d.addEventListener('close', () => resolve(d.returnValue === 'ok'), { once: true }))
}

async function showHealth (f) {
  const body = el('div', {}, el('p', {}, 'Asking the holders…'))
  const shown = dialog(`Copies of ${f.name}`, body)
  try {
    const h = await api(`/api/files/${f.id}/health`)
    const peers = [...new Set(h.blobs.flatMap(b => b.holders.map(x => x.nodeId)))]
    const mark = (x) => x === undefined ? '—' : !x.online ? 'offline' : x.confirmed === true ? 'confirmed' : x.confirmed === false ? 'missing' : 'unknown'
    body.replaceChildren(
      el('p', {}, `${h.replicas} of ${h.target === 'all' ? 'all' : h.target} copies; ${h.ok ? 'meets its target' : 'below its target'}.`),
      el('div', { class: 'scroll' }, el('table', { class: 'list small' },
        el('thead', {}, el('tr', {}, el('th', {}, 'Blob'), el('th', {}, 'Here'), peers.map(p => el('th', { class: 'mono', title: p }, short(p))))),
        el('tbody', {}, h.blobs.map(b => el('tr', {},
          el('td', { class: 'mono', title: b.id }, `${b.kind} ${b.id.slice(0, 10)}`),
          el('td', {}, b.local ? 'yes' : 'no'),
          peers.map(p => { const m = mark(b.holders.find(x => x.nodeId === p)); return el('td', { class: `mark ${m}` }, m) })))))))
  } catch (err) {
    body.replaceChildren(el('p', { class: 'error' }, err.message))
  }
  await shown
}

async function shareFile (f) {
  try {
    const { capability } = await api(`/api/files/${f.id}/share`)
    let copied = false
    try { await navigator.clipboard.writeText(capability); copied = true } catch {}
    const field = el('input', { class: 'mono', readonly: true, value: capability, 'aria-label': 'share link' })
    field.addEventListener('focus', () => field.select())
    await dialog(copied ? 'Share link copied' : 'Share link', [el('p', {}, 'Any node of the network can get this file with:'), field])
  } catch (err) { banner(`share failed: ${err.message}`) }
}

async function deleteFile (f) {
  const many = f.versions > 1
  const ok = await dialog(`Delete ${f.name}?`, el('p', {}, many ? `All ${f.versions} versions go, here and on the holders.` : 'It goes here and on the holders.'), { ok: 'Delete' })
  if (!ok) return
  try {
    await api(many ? `/api/files/${encodeURIComponent(f.name)}?allVersions=true` : `/api/files/${f.id}`, { method: 'DELETE' })
    banner(`${f.name} deleted`, 'info')
  } catch (err) { banner(`delete failed: ${err.message}`) }
  await renderFiles()
}

/** Sends `body` with a progress bar row (XMLHttpRequest: fetch has no upload progress). */
function send (url, body, label) {
  const row = el('div', { class: 'upload' }, el('span', { class: 'uname' }, label), el('progress', { max: 100, value: 0 }), el('span', { class: 'ustate' }, 'waiting'))
  $('uploads').append(row)
  const set = (text, cls) => { row.querySelector('.ustate').textContent = text; if (cls) row.classList.add(cls) }
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest()
    xhr.open('POST', url)
    xhr.setRequestHeader('x-dv-csrf', state.csrf)
    xhr.setRequestHeader('content-type', 'application/octet-stream')
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) { row.querySelector('progress').value = Math.round(e.loaded / e.total * 100); set(`${formatBytes(e.loaded)} of ${formatBytes(e.total)}`) } }
    xhr.onload = () => {
      if (xhr.status === 201) { row.querySelector('progress').value = 100; set('stored', 'ok'); setTimeout(() => row.remove(), 4000) } else {
        let message = `HTTP ${xhr.status}`
        try { message = JSON.parse(xhr.responseText).error.message } catch {}
        set(`failed: ${message}`, 'failed')
      }
      resolve()
    }
    xhr.onerror = () => { set('failed: the node does not answer', 'failed'); resolve() }
    xhr.send(body)
  })
}

function upload (file, name) {
  const mtime = new Date(file.lastModified || Date.now()).toISOString()
  return send(`/api/files?name=${encodeURIComponent(name)}&mtime=${encodeURIComponent(mtime)}`, file, name)
}

/**
 * A folder goes up as ONE entry, as `put DIR` stores it: a header line listing every entry, then
 * the files' bytes in that order. The Blob is made of the File objects themselves: the browser
 * streams them from disk, nothing is read into memory.
 */
function uploadTree (name, entries) {
  const header = JSON.stringify({ entries: entries.map(e => e.type === 'dir' ? { path: e.path, type: 'dir' } : { path: e.path, type: 'file', size: e.file.size, mtime: e.file.lastModified }) }) + '\n'
  const body = new Blob([header, ...entries.filter(e => e.type === 'file').map(e => e.file)])
  return send(`/api/trees?name=${encodeURIComponent(name)}`, body, `${name}/`)
}

const readEntries = (reader) => new Promise((resolve, reject) => reader.readEntries(resolve, reject))
const fileOf = (entry) => new Promise((resolve, reject) => entry.file(resolve, reject))

/** A dropped folder's entries, paths inside it, each folder listed before what it holds. */
async function treeOf (dir) {
  const out = []
  const walk = async (entry, prefix) => {
    const reader = entry.createReader()
    for (let batch = await readEntries(reader); batch.length > 0; batch = await readEntries(reader)) {
      for (const e of batch) {
        const path = prefix + e.name
        if (e.isDirectory) { out.push({ path, type: 'dir' }); await walk(e, `${path}/`) } else if (e.isFile) out.push({ path, type: 'file', file: await fileOf(e) })
      }
    }
  }
  await walk(dir, '')
  return out
}

/** Files chosen with a folder picker (webkitRelativePath "top/sub/file"): one tree per top folder. */
function treesOfPicked (files) {
  const trees = new Map()
  for (const file of files) {
    const [top, ...rest] = file.webkitRelativePath.split('/')
    if (!trees.has(top)) trees.set(top, [])
    trees.get(top).push({ path: rest.join('/'), type: 'file', file })
  }
  return trees
}

/** The list catches up after uploads; a node gone meanwhile shows in the banner (refresh catches). */
async function afterUploads () {
  if (state.view === 'files') await refresh()
}

function setupDrop () {
  const drop = $('drop')
  const input = $('file-input')
  const folders = $('folder-input')
  drop.addEventListener('click', () => input.click())
  drop.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); input.click() } })
  $('choose-folder').addEventListener('click', () => folders.click())
  input.addEventListener('change', async () => {
    const files = [...input.files]
    input.value = ''
    for (const file of files) await upload(file, file.name)
    await afterUploads()
  })
  folders.addEventListener('change', async () => {
    const trees = treesOfPicked([...folders.files])
    folders.value = ''
    for (const [name, entries] of trees) await uploadTree(name, entries)
    await afterUploads()
  })
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over') })
  drop.addEventListener('dragleave', () => drop.classList.remove('over'))
  drop.addEventListener('drop', async (e) => {
    e.preventDefault()
    drop.classList.remove('over')
    // The entries are taken at once: the drop's data is gone after the first await.
    const entries = [...e.dataTransfer.items].map(i => i.webkitGetAsEntry?.()).filter(Boolean)
    const files = [...e.dataTransfer.files]
    if (entries.length === 0) { for (const file of files) await upload(file, file.name) }
    for (const entry of entries) {
      if (entry.isDirectory) await uploadTree(entry.name, await treeOf(entry))
      else await upload(await fileOf(entry), entry.name)
    }
    await afterUploads()
  })
}

// ---------------------------------------------------------------- Peers

function peerRow (p) {
  const stateText = p.connected ? `connected since ${formatTime(p.since)}` : p.nodeId === null ? 'never reached' : `away since ${formatTime(p.since)}`
  const why = p.connected ? null : el('div', { class: 'why' }, [p.hint, p.lastError ? `last error: ${p.lastError}` : null].filter(Boolean).join(' — ') || 'redialled with back-off')
  return el('tr', { 'data-peer': p.nodeId ?? p.addresses[0] ?? '', class: p.connected ? 'up' : 'down' },
    el('td', { class: 'mono', title: [p.nodeId, ...p.addresses].filter(Boolean).join('\n') }, short(p.nodeId), p.configured ? el('span', { class: 'muted' }, ' · configured') : null),
    el('td', {}, el('span', { class: `dot ${p.connected ? 'up' : 'down'}`, 'aria-hidden': 'true' }), stateText, why),
    el('td', { class: 'num' }, p.latencyMs === null ? '—' : `${p.latencyMs} ms`),
    el('td', { class: 'num hide-narrow' }, `${formatBytes(p.traffic.sent)} / ${formatBytes(p.traffic.received)}`),
    el('td', { class: 'num hide-narrow' }, `${formatBytes(p.holdsForMe.bytes)} (${p.holdsForMe.blobs} blobs)`),
    el('td', { class: 'num hide-narrow' }, formatBytes(p.heldForIt)))
}

async function renderPeers () {
  state.peers = await api('/api/dashboard/peers')
  replaceRows($('peers-table'), state.peers, peerRow)
  $('peers-empty').hidden = state.peers.length > 0
  fillChatPeers()
}

// ---------------------------------------------------------------- Messages

function fillChatPeers () {
  const select = $('chat-with')
  const current = select.value
  const ids = state.peers.filter(p => p.nodeId !== null).map(p => p.nodeId)
  for (const m of state.messages) for (const id of [m.from, m.to]) if (id !== '*' && id !== state.nodeId && !ids.includes(id)) ids.push(id)
  select.replaceChildren(el('option', { value: '*' }, 'everyone'), ...ids.map(id => el('option', { value: id }, `node ${short(id)}`)))
  select.value = [...select.options].some(o => o.value === current) ? current : '*'
}

function renderChat () {
  const withWhom = $('chat-with').value
  const shown = state.messages.filter(m => withWhom === '*' ? m.to === '*' : (m.to !== '*' && (m.from === withWhom || m.to === withWhom)))
  $('chat-log').replaceChildren(...shown.map(m => el('li', { class: m.from === state.nodeId ? 'mine' : 'theirs' },
    el('span', { class: 'meta' }, `${m.from === state.nodeId ? 'me' : short(m.from)} · ${formatTime(m.at)}`),
    el('span', { class: 'text' }, m.text))))
  $('chat-empty').hidden = shown.length > 0
  const log = $('chat-log')
  log.scrollTop = log.scrollHeight
}

function addMessage (m) {
  if (state.messages.some(x => x.id === m.id)) return
  state.messages.push(m)
  state.messages.sort((a, b) => a.at.localeCompare(b.at))
  if (state.view === 'messages') { fillChatPeers(); renderChat() }
}

async function renderMessages () {
  const [history, peers] = await Promise.all([api('/api/messages?limit=500'), api('/api/dashboard/peers')])
  state.peers = peers
  for (const m of history) if (!state.messages.some(x => x.id === m.id)) state.messages.push(m)
  state.messages.sort((a, b) => a.at.localeCompare(b.at))
  fillChatPeers()
  renderChat()
}

async function sendMessage (e) {
  e.preventDefault()
  const input = $('chat-text')
  const text = input.value
  if (text.trim() === '') return
  const to = $('chat-with').value
  try {
    const r = await api('/api/messages', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ to, text }) })
    input.value = ''
    addMessage({ id: r.id, from: state.nodeId, to, text, at: r.at })
    if (to !== '*' && r.delivered === false) banner('the node is offline: the message is kept and delivered when it comes back', 'info')
  } catch (err) { banner(`not sent: ${err.message}`) }
}

// ---------------------------------------------------------------- Navigation and live updates

const views = { overview: renderOverview, files: renderFiles, peers: renderPeers, messages: renderMessages }

async function refresh () {
  try {
    await views[state.view]?.()
    if ($('banner').classList.contains('lost')) banner('')
  } catch (err) {
    if (err.status === 401) return
    banner(err.code === 'UNREACHABLE' ? 'The node does not answer: it may be stopping. Retrying…' : `${err.message}`, err.code === 'UNREACHABLE' ? 'error lost' : 'error')
  }
}

async function route () {
  const [name, query] = location.hash.slice(1).split('?')
  const view = views[name] ? name : 'overview'
  state.level = new URLSearchParams(query ?? '').get('level') ?? ''
  state.view = view
  for (const v of document.querySelectorAll('main > section')) v.hidden = v.id !== `view-${view}`
  for (const a of document.querySelectorAll('#nav a')) a.toggleAttribute('aria-current', a.dataset.view === view)
  const started = performance.now()
  await refresh()
  document.body.dataset.rendered = view
  document.body.dataset.renderMs = String(Math.round(performance.now() - started))
  // Time from navigation to the first view drawn, for the "under 1 s" check.
  document.body.dataset.firstViewMs ??= String(Math.round(performance.now()))
}

let pending = 0
/** The fallback poll: the bus's events drive the page, this only catches what has no event. */
const SLOW_POLL_MS = 30_000
function refreshSoon () {
  clearTimeout(pending)
  pending = setTimeout(() => { void refresh() }, 200)
}

function listen () {
  const events = new EventSource('/api/events')
  state.events = events
  events.addEventListener('message', (e) => addMessage(JSON.parse(e.data)))
  events.addEventListener('peer', () => refreshSoon())
  events.addEventListener('announcement', () => { if (state.view !== 'messages') refreshSoon() })
  events.addEventListener('file', () => { if (state.view === 'files' || state.view === 'overview') refreshSoon() })
  events.addEventListener('job', (e) => onJob(JSON.parse(e.data)))
  events.addEventListener('open', () => { if ($('banner').classList.contains('lost')) { banner(''); refreshSoon() } })
  events.addEventListener('error', () => {
    // EventSource reconnects by itself; a node that restarted has forgotten the session.
    banner('Live updates lost: the node may be stopping. Reconnecting…', 'error lost')
    void api('/api/session').catch(() => {})
  })
}

async function main () {
  let session
  try {
    session = await api('/api/session')
  } catch (err) {
    if (err.status !== 401) { showLogin(); banner(`${err.message}`) }
    return
  }
  state.csrf = session.csrf
  state.nodeId = session.nodeId
  $('node-short').textContent = short(session.nodeId)
  $('nav').hidden = false
  $('logout').hidden = false
  $('logout').addEventListener('click', async () => {
    await api('/api/logout', { method: 'POST' }).catch(() => {})
    showLogin()
  })
  $('scrub-now').addEventListener('click', () => { void scrubNow() })
  $('file-search').addEventListener('input', (e) => { state.filter = e.target.value; state.fileLimit = PAGE_ROWS; renderFileRows() })
  $('files-more').addEventListener('click', () => { state.fileLimit += PAGE_ROWS; renderFileRows() })
  $('chat-with').addEventListener('change', renderChat)
  $('chat-form').addEventListener('submit', sendMessage)
  setupDrop()
  window.addEventListener('hashchange', () => { void route() })
  // The view already shown, chosen again: show it afresh (hashchange does not fire).
  for (const a of document.querySelectorAll('#nav a')) a.addEventListener('click', () => { if (location.hash === a.getAttribute('href')) void route() })
  listen()
  await route()
  // Everything the bus announces arrives as an event (peers, files, messages, jobs); what changes
  // without one (an audit dropping a copy, traffic counters) is caught by a slow poll of the view shown.
  state.timer = setInterval(() => { if (document.visibilityState === 'visible' && !$('dialog').open) void refresh() }, SLOW_POLL_MS)
}

void main()
