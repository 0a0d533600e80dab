// Headless Chromium for the dashboard tests: Debian's chromium driven by playwright-core, a login
// through `distri-vault open`, a file dropped on the page, and screenshots into an output folder.
import { mkdir } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import type { VaultNode } from '../../src/index.ts'
import { runCli } from '../helpers/cli.ts'

export const CHROMIUM = process.env.DV_CHROMIUM ?? '/usr/bin/chromium'
export const LAPTOP = { width: 1280, height: 800 }
export const PHONE = { width: 390, height: 844 }

export function chromiumMissing (): string | false {
  return existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (apt-get install -y --no-install-recommends chromium)`
}

export async function launchBrowser (t: { after: (fn: () => Promise<void>) => void }): Promise<Browser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] })
  t.after(async () => { await browser.close() })
  return browser
}

/** Where screenshots go: $DV_SCREENSHOTS, else a folder under the OS temp dir (printed by the test). */
export async function screenshotDir (): Promise<string> {
  const asked = process.env.DV_SCREENSHOTS
  const dir = asked !== undefined && asked !== '' && asked !== 'off' ? asked : join(tmpdir(), `dv-dashboard-screenshots-${process.pid}`)
  await mkdir(dir, { recursive: true })
  return dir
}

/**
 * A screenshot of what `page` shows, named `name`.png, into the test output (issue 18 asks for one
 * of each view at laptop and phone width in every run): the window only, into a temp folder the test
 * prints; the full page into $DV_SCREENSHOTS when it names a folder (how docs/screenshots/ is
 * refreshed). DV_SCREENSHOTS=off skips them (a full-page PNG costs Chromium about a CPU-second).
 */
export async function screenshot (page: Page, name: string, fullPage = true): Promise<void> {
  const asked = process.env.DV_SCREENSHOTS
  if (asked === 'off') return
  await page.screenshot({ path: join(await screenshotDir(), `${name}.png`), fullPage: fullPage && asked !== undefined && asked !== '' })
}

/** Nothing on the page is wider than the window: no sideways scrolling (a phone's narrow width). */
export async function assertNoOverflow (page: Page, what: string): Promise<void> {
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth }))
  if (scrollWidth > innerWidth + 1) throw new Error(`${what}: the page is ${scrollWidth} px wide in a ${innerWidth} px window`)
}

/** A one-time login link for `node`, as the user gets it: `distri-vault open --data DIR`. */
export async function loginLink (node: VaultNode): Promise<string> {
  const open = await runCli(['open', '--data', node.paths.root, '--json', '--no-browser'])
  if (open.code !== 0) throw new Error(`open failed: ${open.stderr}`)
  return (JSON.parse(open.stdout) as { url: string }).url
}

/** A browser context signed in to `node` through its link, on its overview. */
export async function signedIn (browser: Browser, node: VaultNode, viewport = LAPTOP): Promise<{ context: BrowserContext, page: Page }> {
  const context = await browser.newContext({ viewport, acceptDownloads: true })
  const page = await context.newPage()
  await page.goto(await loginLink(node))
  await waitRendered(page, 'overview')
  return { context, page }
}

/** Waits until the page has rendered `view` (app.js marks <body data-rendered>). */
export async function waitRendered (page: Page, view: string, timeout = 15_000): Promise<void> {
  await page.waitForFunction((v) => document.body.dataset.rendered === v, view, { timeout })
}

export async function show (page: Page, view: string): Promise<void> {
  await page.evaluate(() => { delete document.body.dataset.rendered })
  await page.click(`#nav a[data-view="${view}"]`)
  await waitRendered(page, view)
}

/** Drops a file on the Files view's drop zone, as a drag from the desktop does. */
export async function dropFile (page: Page, name: string, bytes: Buffer): Promise<void> {
  await page.evaluate(({ name, b64 }) => {
    const bin = Uint8Array.from(atob(b64), c => c.charCodeAt(0))
    const data = new DataTransfer()
    data.items.add(new File([bin], name, { type: 'application/octet-stream' }))
    const drop = document.getElementById('drop')!
    for (const type of ['dragenter', 'dragover', 'drop']) drop.dispatchEvent(new DragEvent(type, { dataTransfer: data, bubbles: true, cancelable: true }))
  }, { name, b64: bytes.toString('base64') })
}

/** Waits for the badge of file `name` to read `text` (e.g. "3/3"); resolves with its level and hover text. */
export async function waitBadge (page: Page, name: string, text: string, timeout = 30_000): Promise<{ level: string, title: string }> {
  const handle = await page.waitForFunction(([n, want]) => {
    for (const row of document.querySelectorAll('#files-table tbody tr')) {
      const badge = row.querySelector<HTMLElement>('.badge')
      if (row.querySelector('.name button')?.textContent === n && badge?.textContent === want) return { level: badge.dataset.level ?? '', title: badge.title }
    }
    return false
  }, [name, text] as const, { timeout })
  return await handle.jsonValue() as { level: string, title: string }
}

/**
 * Drops a folder on the drop zone as a desktop drag does: the drop event's items give a directory
 * entry (webkitGetAsEntry) whose reader lists the folder (real File objects, with their mtimes).
 * Chromium cannot put a directory in a script-made DataTransfer, so the entries are built in the
 * page with the FileSystemEntry interface the page uses; everything after the drop is the page's.
 */
export async function dropFolder (page: Page, name: string, files: Record<string, { bytes: Buffer, mtimeMs?: number }>, emptyDirs: string[] = []): Promise<void> {
  const list = Object.entries(files).map(([path, f]) => ({ path, b64: f.bytes.toString('base64'), mtimeMs: f.mtimeMs }))
  await page.evaluate(({ name, list, emptyDirs }) => {
    interface Node { name: string, file?: File, children?: Map<string, Node> }
    const root: Node = { name, children: new Map() }
    const dirOf = (parts: string[]): Node => {
      let at = root
      for (const part of parts) {
        if (!at.children!.has(part)) at.children!.set(part, { name: part, children: new Map() })
        at = at.children!.get(part)!
      }
      return at
    }
    for (const d of emptyDirs) dirOf(d.split('/'))
    for (const f of list) {
      const parts = f.path.split('/')
      const bin = Uint8Array.from(atob(f.b64), c => c.charCodeAt(0))
      dirOf(parts.slice(0, -1)).children!.set(parts.at(-1)!, { name: parts.at(-1)!, file: new File([bin], parts.at(-1)!, { lastModified: f.mtimeMs }) })
    }
    const entryOf = (n: Node): object => n.file !== undefined
      ? { isFile: true, isDirectory: false, name: n.name, file: (ok: (f: File) => void) => ok(n.file!) }
      : {
          isFile: false,
          isDirectory: true,
          name: n.name,
          createReader: () => {
            let given = false
            // Like Chromium's reader: the entries in a batch, then an empty batch.
            return { readEntries: (ok: (e: object[]) => void) => { const batch = given ? [] : [...n.children!.values()].map(entryOf); given = true; setTimeout(() => ok(batch), 0) } }
          }
        }
    const drop = document.getElementById('drop')!
    const event = new Event('drop', { bubbles: true, cancelable: true })
    Object.defineProperty(event, 'dataTransfer', { value: { items: [{ webkitGetAsEntry: () => entryOf(root) }], files: [] } })
    drop.dispatchEvent(event)
  }, { name, list, emptyDirs })
}
