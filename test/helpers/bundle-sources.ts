// What a traced process (module-trace.ts) loaded, as source files. The CLI runs as a bundle
// (scripts/bundle.ts): a process loads a few chunk files, and esbuild's metafile
// (dist/bundle/meta.json) says which sources, ours under src/ and packages' under node_modules/,
// each chunk holds. A loaded file outside the bundle (tsc's dist/, a package) stands for itself.
import { readFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const BUNDLE = join(ROOT, 'dist', 'bundle')

/** Absolute paths of the source files behind the loaded `urls` (file: URLs; others are skipped). */
export async function loadedSources (urls: string[]): Promise<string[]> {
  const meta = JSON.parse(await readFile(join(BUNDLE, 'meta.json'), 'utf8')) as { outputs: Record<string, { inputs: Record<string, unknown> } | undefined> }
  const files = urls.filter(u => u.startsWith('file:')).map(u => fileURLToPath(u))
  return files.flatMap(f => {
    if (!f.startsWith(BUNDLE + '/')) return [f]
    const output = meta.outputs[relative(ROOT, f)]
    if (output === undefined) throw new Error(`${f} is not in dist/bundle/meta.json: run "npm run build"`)
    return Object.keys(output.inputs).map(input => join(ROOT, input))
  })
}
