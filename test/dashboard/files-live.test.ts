// The dashboard's files and jobs in real headless Chromium against real nodes: a dropped folder is
// stored as ONE tree entry (restored equal by `get NAME -o DIR`), a bad name refuses the whole
// tree, versions of a file and of a folder are listed and downloaded, a badge tells a holder that
// refused from copies never placed, and recover and scrub show live progress from the event bus.
// One cluster for the file: a, b, and c whose storage limit makes it refuse every copy.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import type { Page } from 'playwright-core'
import { putBytes, startCluster, waitForMesh } from '../helpers/cluster.ts'
import { runCli } from '../helpers/cli.ts'
import { listFiles, tempDir } from '../helpers/fs.ts'
import { chromiumMissing, dropFolder, launchBrowser, screenshot, show, signedIn, waitBadge } from './browser.ts'

const skip = chromiumMissing()

/** Every file under `dir` by its path inside it, with its bytes. */
async function treeBytes (dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>()
  for (const full of await listFiles(dir)) out.set(relative(dir, full), await readFile(full))
  return out
}

/** Clicks a download link and returns the downloaded bytes. */
async function download (page: Page, selector: string): Promise<Buffer> {
  const [file] = await Promise.all([page.waitForEvent('download'), page.click(selector)])
  return await readFile((await file.path())!)
}

/** Opens the versions dialog of `name` on the files view; resolves with its rows' version numbers. */
async function openVersions (page: Page, name: string): Promise<string[]> {
  await page.click(`#files-table tr:has(.name button:text-is("${name}")) button.versions`)
  await page.waitForSelector('#versions-table tbody tr')
  return await page.locator('#versions-table tbody tr').evaluateAll(rows => rows.map(r => r.getAttribute('data-version') ?? ''))
}

async function closeDialog (page: Page): Promise<void> {
  await page.click('#dialog-cancel')
  await page.waitForFunction(() => !(document.getElementById('dialog') as HTMLDialogElement).open)
}

test('the dashboard stores dropped folders as one entry, shows versions, why copies are missing, and live job progress', { skip, timeout: 300_000 }, async (t) => {
  const cluster = await startCluster(t, 2)
  const c = await cluster.add({ maxStorageBytes: 1000 })
  const [a, b] = cluster.nodes
  await waitForMesh([a, b, c])
  const browser = await launchBrowser(t)
  const { page } = await signedIn(browser, a)
  const scratch = await tempDir(t, 'dv-dash-files-')

  const v1 = {
    'readme.txt': { bytes: Buffer.from('first version of the folder\n'), mtimeMs: Date.parse('2025-03-04T05:06:07Z') },
    'photos/a.jpg': { bytes: randomBytes(300 * 1024 + 5) },
    'photos/deep/b.bin': { bytes: randomBytes(1234) },
    'empty.txt': { bytes: Buffer.alloc(0) },
    // Over tar's 100-byte name field (a pax header carries it) and not ASCII.
    [`photos/deep/${'long-name-'.repeat(12)}résumé.txt`]: { bytes: Buffer.from('long') }
  }
  const v2 = { ...v1, 'readme.txt': { bytes: Buffer.from('second version\n'), mtimeMs: Date.parse('2025-06-01T00:00:00Z') }, 'new.txt': { bytes: Buffer.from('new') } }
  const asMap = (files: Record<string, { bytes: Buffer }>): Map<string, Buffer> => new Map(Object.entries(files).map(([p, f]) => [p, f.bytes]))

  await t.test('a dropped folder is stored as one tree entry, restored equal by get NAME -o DIR', async () => {
    await show(page, 'files')
    await dropFolder(page, 'project', v1, ['photos/nothing-here'])
    await page.waitForSelector('#files-table tr:has(.name button:text-is("project/"))', { timeout: 30_000 })
    const entries = a.vault.list().filter(f => f.name === 'project')
    assert.equal(entries.length, 1, 'one entry for the whole folder')
    assert.equal(entries[0].kind, 'tree')
    assert.equal(entries[0].files, 5)
    assert.equal(a.vault.list().some(f => f.name.startsWith('project/')), false, 'no entry per file')
    const out = join(scratch, 'project-v1')
    const got = await runCli(['get', 'project', '-o', out, '--data', a.paths.root])
    assert.equal(got.code, 0, got.stderr)
    assert.deepEqual(await treeBytes(out), asMap(v1))
    assert.equal((await stat(join(out, 'readme.txt'))).mtimeMs, v1['readme.txt'].mtimeMs, 'the file keeps its time')
    assert.ok((await stat(join(out, 'photos/nothing-here'))).isDirectory(), 'an empty folder is kept')
    assert.deepEqual(await readdir(a.vault.store.tmpDir), [], 'nothing is left in the staging folder')
  })

  await t.test('one bad name refuses the whole folder before anything is stored', async () => {
    const before = a.vault.list().length
    const answer = await page.evaluate(async () => {
      const { csrf } = await (await fetch('/api/session')).json() as { csrf: string }
      const header = JSON.stringify({ entries: [{ path: 'ok.txt', type: 'file', size: 2 }, { path: 'sub/../../escape.txt', type: 'file', size: 2 }] }) + '\n'
      const res = await fetch('/api/trees?name=bad', { method: 'POST', headers: { 'x-dv-csrf': csrf }, body: header + 'okno' })
      return { status: res.status, body: await res.json() as { error: { code: string, message: string } } }
    })
    assert.equal(answer.status, 400)
    assert.equal(answer.body.error.code, 'BAD_INPUT')
    assert.match(answer.body.error.message, /not a path inside the folder/)
    assert.equal(a.vault.list().length, before, 'nothing was stored')
    assert.deepEqual(await readdir(a.vault.store.tmpDir), [], 'nothing was written to the staging folder')
  })

  await t.test('versions of a file and of a folder are listed and each downloads as it was', async () => {
    const first = randomBytes(2000)
    const second = randomBytes(3000)
    await putBytes(a, 'notes.bin', first)
    await putBytes(a, 'notes.bin', second)
    await dropFolder(page, 'project', v2)
    await page.waitForSelector('#files-table tr:has(.name button:text-is("project/")) button.versions', { timeout: 30_000 })
    await page.waitForSelector('#files-table tr:has(.name button:text-is("notes.bin")) button.versions', { timeout: 30_000 })

    assert.deepEqual(await openVersions(page, 'notes.bin'), ['2', '1'])
    assert.equal(await page.isVisible('#dialog-ok'), false, 'a dialog that only informs has no OK button')
    assert.match(await page.textContent('#versions-table tr[data-version="1"]') ?? '', /2\.0 KiB/)
    assert.deepEqual(await download(page, '#versions-table tr[data-version="1"] a'), first)
    assert.deepEqual(await download(page, '#versions-table tr[data-version="2"] a'), second)
    await closeDialog(page)

    assert.deepEqual(await openVersions(page, 'project/'), ['2', '1'])
    for (const [version, files] of [['1', v1], ['2', v2]] as const) {
      const tar = join(scratch, `project.v${version}.tar`)
      await writeFile(tar, await download(page, `#versions-table tr[data-version="${version}"] a`))
      const out = join(scratch, `untar-v${version}`)
      await mkdir(out)
      await promisify(execFile)('tar', ['-xf', tar, '-C', out])
      assert.deepEqual(await treeBytes(out), asMap(files), `version ${version} of the folder, as tar extracts it`)
    }
    await screenshot(page, 'versions-laptop', false)
    await closeDialog(page)
  })

  await t.test('a badge tells a holder that refused apart from copies never placed', async () => {
    await putBytes(a, 'refused.bin', randomBytes(8 * 1024), 3)
    await putBytes(a, 'unplaced.bin', randomBytes(8 * 1024), 4)
    await show(page, 'files')
    const refused = await waitBadge(page, 'refused.bin', '2/3')
    assert.equal(refused.level, 'reduced')
    assert.match(refused.title, new RegExp(`holder …${c.nodeId.slice(-8)} refused \\(storage limit reached\\) at \\d{4}-`))
    assert.doesNotMatch(refused.title, /never placed/)
    const unplaced = await waitBadge(page, 'unplaced.bin', '2/4')
    assert.match(unplaced.title, /never placed: 1 copy had no peer to go to \(no peers\)/)
    assert.match(unplaced.title, /refused \(storage limit reached\)/)
    // And once the holder is gone: offline since…, not "refused".
    await b.stop()
    const offline = await waitBadge(page, 'refused.bin', '1/3')
    assert.equal(offline.level, 'critical')
    assert.match(offline.title, new RegExp(`holder …${b.nodeId.slice(-8)} offline since`))
  })

  await t.test('scrub and recover show live progress on the overview, from the event bus', async () => {
    await show(page, 'overview')
    await page.click('#scrub-now')
    await page.waitForSelector('#ov-jobs li[data-job="scrub"].done', { timeout: 30_000 })
    assert.match(await page.textContent('#ov-jobs li[data-job="scrub"]') ?? '', /done: \d+ blobs checked/)
    assert.equal(await page.getAttribute('#ov-jobs li[data-job="scrub"] progress', 'value'), '100')
    // recover started elsewhere (the API, as `distri-vault recover` does): the page shows it live.
    const recovered = await runCli(['recover', '--data', a.paths.root, '--json'])
    assert.equal(recovered.code, 0, recovered.stderr)
    await page.waitForSelector('#ov-jobs li[data-job="recover"].done', { timeout: 30_000 })
    assert.match(await page.textContent('#ov-jobs li[data-job="recover"]') ?? '', /done: \d+ of \d+ blobs back/)
    await screenshot(page, 'jobs-laptop')
    await show(page, 'files')
    await screenshot(page, 'files-folders-laptop')
    assert.equal(await page.isVisible('#files-more'), false, 'no "Show more" when every file is shown')
  })
  await browser.close()
})
