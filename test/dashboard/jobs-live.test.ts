// The overview's activity shows every job the node runs, whoever started it: a scrub started by the
// node's own timer (--scrub-every) and an audit started when a holder connected appear on the page,
// with who started them, without anyone asking for them. The overview also says whether peers can
// reach the node.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { putBytes, startCluster } from '../helpers/cluster.ts'
import { chromiumMissing, launchBrowser, signedIn } from './browser.ts'

const skip = chromiumMissing()

test('a scrub started by the node\'s timer and an audit started by a peer show live in the overview\'s activity', { skip, timeout: 120_000 }, async (t) => {
  const cluster = await startCluster(t, 2, { scrubEverySeconds: 1, auditEverySeconds: 1 })
  const [a] = cluster.nodes
  await putBytes(a, 'kept.bin', randomBytes(50_000), 2)
  const browser = await launchBrowser(t)
  const { page } = await signedIn(browser, a)
  // Reachability, as `status` says it (a LAN mesh: public).
  assert.match(await page.textContent('#ov-node') ?? '', /Reachableyes: peers can dial this node/)
  const scrub = page.locator('#ov-jobs li[data-job="scrub"][data-trigger="timer"][data-phase="done"]')
  await scrub.waitFor({ timeout: 20_000 })
  assert.match(await scrub.textContent() ?? '', /started by the node's schedule/)
  assert.match(await scrub.locator('.jstate').textContent() ?? '', /^done: \d+ blobs checked/)
  const audit = page.locator('#ov-jobs li[data-job="audit"][data-phase="done"]')
  await audit.waitFor({ timeout: 20_000 })
  assert.match(await audit.locator('.jstate').textContent() ?? '', /^done: holder …\w{8}: \d+ copies checked, \d+ proven, 0 dropped/)
  assert.equal(await page.isVisible('#ov-jobs-empty'), false, 'no empty state with jobs listed')
  // Live: the next timed passes arrive over the page's event stream (start, then end), not by reloading.
  await page.evaluate(() => {
    const seen: string[] = []
    ;(window as unknown as { scrubPhases: string[] }).scrubPhases = seen
    new MutationObserver(() => {
      const phase = document.querySelector<HTMLElement>('#ov-jobs li[data-job="scrub"]')?.dataset.phase
      if (phase !== undefined && seen.at(-1) !== phase) seen.push(phase)
    }).observe(document.getElementById('ov-jobs')!, { childList: true, subtree: true })
  })
  await page.waitForFunction(() => {
    const seen = (window as unknown as { scrubPhases: string[] }).scrubPhases
    return seen.includes('started') && seen.indexOf('done', seen.indexOf('started')) !== -1
  }, undefined, { timeout: 20_000 })
})
