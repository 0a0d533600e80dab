// The dashboard in real headless Chromium against real nodes (TCP on 127.0.0.1, real disks): sign in
// through `open`'s link, watch peers appear live, drop a file and watch its badge go green, lose a
// holder (amber) and get the copy remade (green), download the bytes, chat between two nodes'
// pages, and be refused without a session or from another site's page. Every view is laid out
// without sideways scrolling at laptop and phone width, and a screenshot of each is saved (browser.ts).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { cpus, loadavg } from 'node:os'
import type { Page } from 'playwright-core'
import { putBytes, startCluster } from '../helpers/cluster.ts'
import { waitFor } from '../helpers/cli.ts'
import { steps } from '../helpers/steps.ts'
import { LAPTOP, PHONE, assertNoOverflow, chromiumMissing, dropFile, launchBrowser, screenshot, screenshotDir, show, signedIn, waitBadge, waitRendered } from './browser.ts'

const skip = chromiumMissing()

/** Every view at laptop and phone width, and the overview in dark: laid out without sideways
 * scrolling, and a screenshot of each (browser.ts). */
async function layouts (page: Page, views: string[]): Promise<void> {
  for (const [label, size] of [['laptop', LAPTOP], ['phone', PHONE]] as const) {
    await page.setViewportSize(size)
    for (const view of views) {
      await show(page, view)
      await assertNoOverflow(page, `${view} at ${label} width`)
      await screenshot(page, `${view}-${label}`)
    }
  }
  await page.setViewportSize(LAPTOP)
  await page.emulateMedia({ colorScheme: 'dark' })
  await show(page, 'overview')
  assert.equal(await page.evaluate(() => getComputedStyle(document.body).backgroundColor), 'rgb(21, 23, 26)', 'the dark scheme gives a dark page (style.css --bg)')
  await screenshot(page, 'overview-laptop-dark')
  await page.emulateMedia({ colorScheme: 'light' })
}

test('the dashboard: login by link, live peers, drop a file (green), lose a holder (amber), repair (green), download, chat, refusals', { skip, timeout: 300_000 }, async (t) => {
  // Every step is named and bounded: a hang fails with the step's name, not a bare test timeout.
  const step = steps(t)
  const cluster = await step('start 3 nodes', async () => await startCluster(t, 3, { repairAfterSeconds: 2 }))
  const [a, b, c] = cluster.nodes
  const browser = await step('launch the browser', async () => await launchBrowser(t))
  const { context, page } = await step('sign in to a', async () => await signedIn(browser, a))
  assert.equal(new URL(page.url()).search, '', 'the login code is gone from the address bar')
  const cookies = await context.cookies()
  assert.equal(cookies.length, 1)
  assert.equal(cookies[0].httpOnly, true)
  assert.equal(cookies[0].sameSite, 'Strict')
  assert.ok(await page.isVisible('#ov-node'))
  assert.match(await page.textContent('#ov-node') ?? '', new RegExp(a.nodeId))

  // Peers: both others are listed, and a node that joins appears without a reload.
  await step('peers view lists 2 peers up', async () => {
    await show(page, 'peers')
    await page.waitForFunction(() => document.querySelectorAll('#peers-table tbody tr.up').length === 2)
  })

  // Files: drop a file, its upload shows progress, its badge reads 3/3 in green.
  const bytes = randomBytes(700 * 1024 + 17)
  const full = await step('drop a file, badge 3/3', async () => {
    await show(page, 'files')
    assert.ok(await page.isVisible('#files-empty'), 'the empty state shows before any file')
    await dropFile(page, 'dropped.bin', bytes)
    await page.waitForSelector('.upload .uname >> text=dropped.bin')
    return await waitBadge(page, 'dropped.bin', '3/3')
  })
  assert.equal(full.level, 'full')

  // Download through the page: the same bytes.
  const downloaded = await step('download through the page', async () => {
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.click('#files-table tr:has-text("dropped.bin") a:has-text("Download")')
    ])
    return await readFile((await download.path())!)
  })
  assert.deepEqual(downloaded, bytes)

  // A holder stops: amber, and the hover says which holder is offline since when.
  await step('stop holder b', async () => { await b.stop() })
  const reduced = await step('badge 2/3', async () => await waitBadge(page, 'dropped.bin', '2/3'))
  assert.equal(reduced.level, 'reduced')
  assert.match(reduced.title, new RegExp(`holder …${b.nodeId.slice(-8)} offline since`))

  // A new node joins (it appears on the peers view live); past --repair-after the lost copy is
  // remade on it and the badge is green again.
  await step('peers view', async () => { await show(page, 'peers') })
  const d = await step('start node d', async () => await cluster.add())
  await step('d appears live on the peers view', async () => {
    await page.waitForFunction((id) => [...document.querySelectorAll('#peers-table tbody tr.up')].some(r => r.getAttribute('data-peer') === id), d.nodeId, { timeout: 20_000 })
  })
  const repaired = await step('repair: badge 3/3 again', async () => {
    await show(page, 'files')
    return await waitBadge(page, 'dropped.bin', '3/3', 60_000)
  }, 90_000)
  assert.equal(repaired.level, 'full')
  // The repair pass that made the copy was shown live: the overview lists it as done.
  await step('overview lists the repair as done', async () => {
    await show(page, 'overview')
    await page.waitForSelector('#ov-jobs li[data-job="repair"].done')
  })
  assert.match(await page.textContent('#ov-jobs li[data-job="repair"]') ?? '', /done: \d+ of \d+ file\(s\) looked at, [1-9]\d* brought back to target/)

  // Overview counts it as full redundancy, with a link to those files.
  assert.match(await page.textContent('#ov-redundancy a.full') ?? '', /^1 /)

  // Messages: a's page writes to c, c's page shows it live, as text.
  const { page: pageC } = await step('sign in to c', async () => await signedIn(browser, c))
  const text = 'hello <b>c</b> <img src=x onerror="document.title=\'owned\'"> & bye'
  await step('a writes to c, c sees it live', async () => {
    await show(pageC, 'messages')
    await show(page, 'messages')
    await page.waitForFunction((id) => [...document.querySelectorAll('#chat-with option')].some(o => (o as HTMLOptionElement).value === id), c.nodeId)
    await page.selectOption('#chat-with', c.nodeId)
    await page.fill('#chat-text', text)
    await page.press('#chat-text', 'Enter')
    await page.waitForFunction((t) => [...document.querySelectorAll('#chat-log .text')].some(e => e.textContent === t), text)
    await pageC.waitForFunction((id) => [...document.querySelectorAll('#chat-with option')].some(o => (o as HTMLOptionElement).value === id), a.nodeId, { timeout: 20_000 })
    await pageC.selectOption('#chat-with', a.nodeId)
    await pageC.waitForFunction((t) => [...document.querySelectorAll('#chat-log .text')].some(e => e.textContent === t), text, { timeout: 20_000 })
  })
  assert.equal(await pageC.locator('#chat-log b, #chat-log img').count(), 0, 'no markup from a message reaches the page')
  assert.notEqual(await pageC.title(), 'owned')
  // And to everyone, from c's page, live on a's.
  await step('c writes to all, a sees it live', async () => {
    await pageC.selectOption('#chat-with', '*')
    await pageC.fill('#chat-text', 'hi all')
    await pageC.click('#chat-form button')
    await page.selectOption('#chat-with', '*')
    await page.waitForFunction(() => [...document.querySelectorAll('#chat-log .text')].some(e => e.textContent === 'hi all'), undefined, { timeout: 20_000 })
  })

  // Without a session the page asks for a link and shows no data.
  await step('a browser without a session sees the login view only', async () => {
    const stranger = await browser.newContext()
    const strangerPage = await stranger.newPage()
    await strangerPage.goto(`${a.apiUrl}/#files`)
    await strangerPage.waitForSelector('#view-login:not([hidden])')
    assert.match(await strangerPage.textContent('#view-login') ?? '', /distri-vault open/)
    assert.doesNotMatch(await strangerPage.content(), new RegExp(`dropped\\.bin|${a.nodeId}`))
    await stranger.close()
  })

  // Another site's page (another port of 127.0.0.1: same site, other origin) posts a form and a
  // fetch to the node with the signed-in browser: both refused, nothing sent. The form is sent once
  // the fetch is answered: submitted at once, its navigation could cancel the fetch unanswered.
  await step('another site\'s form and fetch are refused', async () => {
    const evil = createServer((_req, res) => {
      res.setHeader('content-type', 'text/html')
      res.end(`<form id="f" method="POST" action="${a.apiUrl}/api/messages" enctype="text/plain"><input name='{"to":"*","text":"forged","x":"' value='"}'></form>
        <script>fetch(${JSON.stringify(a.apiUrl + '/api/messages')}, { method: 'POST', mode: 'no-cors', credentials: 'include', body: '{"to":"*","text":"forged"}' }).catch(() => {}).finally(() => document.getElementById('f').submit())</script>`)
    })
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve))
    t.after(() => { evil.close() })
    const evilPage = await context.newPage()
    const refused: number[] = []
    evilPage.on('response', (r) => { if (r.url().endsWith('/api/messages') && r.request().method() === 'POST') refused.push(r.status()) })
    await evilPage.goto(`http://127.0.0.1:${(evil.address() as { port: number }).port}/`)
    await waitFor('both forged requests to be answered', () => refused.length >= 2)
    assert.ok(refused.every(s => s === 403 || s === 401), `refused: ${refused.join(', ')}`)
    assert.ok(!a.messenger().history({ limit: 1000 }).some(m => m.text === 'forged'), 'the forged message was never sent')
    // Not awaited to the end: Chromium 156 never finishes closing a page whose form navigation was
    // answered with a refusal (it hung the test to its timeout); the browser's close ends it.
    await evilPage.close({ runBeforeUnload: true })
  })

  await step('layouts and screenshots', async () => {
    await show(page, 'overview')
    await layouts(page, ['overview', 'files', 'peers', 'messages'])
    if (process.env.DV_SCREENSHOTS !== 'off') {
      const dir = await screenshotDir()
      // A PNG of each view at each width, in the test output.
      for (const name of ['overview', 'files', 'peers', 'messages'].flatMap(v => [`${v}-laptop`, `${v}-phone`])) {
        const png = await readFile(join(dir, `${name}.png`))
        assert.ok(png.subarray(1, 4).toString() === 'PNG' && png.byteLength > 1000, `${name}.png is a picture`)
      }
      t.diagnostic(`screenshots in ${dir}`)
    }
  })
  // Logout ends the session: the page asks for a link again.
  await step('logout', async () => {
    await page.click('#logout')
    await page.waitForSelector('#view-login:not([hidden])')
    await page.reload()
    await page.waitForSelector('#view-login:not([hidden])')
  })
  await step('close the browser', async () => { await browser.close() })
})

/** CPU milliseconds this process spends per GET of `path` (server and client are both in it): the mean of `times`. */
async function cpuMsPerRequest (url: string, token: string, path: string, times: number): Promise<number> {
  const get = async (): Promise<void> => { await (await fetch(url + path, { headers: { authorization: `Bearer ${token}` } })).arrayBuffer() }
  await get()
  const before = process.cpuUsage()
  for (let i = 0; i < times; i++) await get()
  const used = process.cpuUsage(before)
  return (used.user + used.system) / 1000 / times
}

test('the first view renders in under 1 s with 1,000 files in the vault', { skip, timeout: 300_000 }, async (t) => {
  const cluster = await startCluster(t, 1)
  const [a] = cluster.nodes
  for (let i = 0; i < 1000; i += 10) {
    await Promise.all(Array.from({ length: 10 }, async (_, j) => await putBytes(a, `docs/file-${String(i + j).padStart(4, '0')}.txt`, Buffer.from(`content ${i + j}`))))
  }
  // The server's part, in CPU time (what a loaded machine does not inflate), against the floor of
  // any authorised request (GET /api/session) in the same run.
  const { token } = JSON.parse(await readFile(join(a.paths.root, 'api.json'), 'utf8')) as { token: string }
  const floor = await cpuMsPerRequest(a.apiUrl, token, '/api/session', 20)
  for (const path of ['/api/dashboard/overview', '/api/dashboard/files']) {
    const ms = await cpuMsPerRequest(a.apiUrl, token, path, 20)
    t.diagnostic(`${path}: ${ms.toFixed(1)} CPU ms per request (GET /api/session: ${floor.toFixed(1)} ms); load average ${loadavg()[0].toFixed(1)} on ${cpus().length} cores`)
    // Bounded in CPU time, whatever else the machine runs: 1,000 files cost no more than this.
    assert.ok(ms < 150, `${path} takes ${ms.toFixed(1)} CPU ms`)
  }
  const browser = await launchBrowser(t)
  const { context } = await signedIn(browser, a)
  let page = await context.newPage()
  for (const view of ['overview', 'files']) {
    await page.close()
    page = await context.newPage()
    await page.goto(`${a.apiUrl}/#${view}`)
    await waitRendered(page, view)
    const ms = Number(await page.evaluate(() => document.body.dataset.firstViewMs))
    const timing = await page.evaluate((path) => {
      const api = performance.getEntriesByType('resource').find(e => e.name.endsWith(path)) as PerformanceResourceTiming | undefined
      const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming
      return { parsed: Math.round(nav.domContentLoadedEventEnd), dataStart: Math.round(api?.requestStart ?? -1), dataEnd: Math.round(api?.responseEnd ?? -1) }
    }, `/api/dashboard/${view}`)
    t.diagnostic(`${view}: first view in ${Math.round(ms)} ms from navigation (page parsed at ${timing.parsed} ms, data asked at ${timing.dataStart} ms, in at ${timing.dataEnd} ms, drawn ${Math.round(ms - timing.dataEnd)} ms after); load average ${loadavg()[0].toFixed(1)} on ${cpus().length} cores`)
    // The page's own work (its data and drawing) must fit in the bound whatever the machine; the whole
    // first view too, unless other programs hold the CPU (then the browser's floor alone, getting the
    // HTML and scripts parsed, can exceed it, and that is not the dashboard's to fix).
    // The first view is the overview (where the login lands); the files view, a click away, gets
    // twice that bound for its data when the machine is overloaded, and the same 1 s when it is not.
    // On a machine whose load is many times its cores (the full suite beside other sessions: 25 on
    // 2 cores) the browser itself is starved, so the page's own part gets 3 s there.
    const overloaded = loadavg()[0] > 4 * cpus().length
    assert.ok(ms - timing.parsed < (overloaded ? 3000 : view === 'overview' ? 1000 : 2000), `${view}: ${Math.round(ms - timing.parsed)} ms after the page was parsed`)
    if (loadavg()[0] <= cpus().length) assert.ok(ms < 1000, `${view} took ${Math.round(ms)} ms`)
  }
  // The files view draws one page of rows and says how many there are; more on request.
  assert.equal(await page.textContent('#files-count'), '1000 files')
  assert.equal(await page.locator('#files-table tbody tr').count(), 100)
  await page.click('#files-more')
  assert.equal(await page.locator('#files-table tbody tr').count(), 200)
  // Search looks at every file, not only the rows drawn.
  await page.fill('#file-search', 'file-0999')
  await page.waitForFunction(() => document.querySelectorAll('#files-table tbody tr').length === 1)
  assert.equal(await page.textContent('#files-count'), '1 of 1000 files')
  await browser.close()
})
