// The guard that keeps CLI tests off a stale dist/: a source newer than its build output, or one
// never built, is named; a fresh build passes.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdir, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { tempDir } from '../helpers/fs.ts'
import { assertFreshBuild, staleBuildOutputs, staleBundleSources } from '../helpers/dist-guard.ts'

test('CLI tests refuse a dist/ older than src/, naming the stale files', async (t) => {
  const root = await tempDir(t)
  await mkdir(join(root, 'src', 'cli'), { recursive: true })
  await mkdir(join(root, 'dist', 'cli'), { recursive: true })
  for (const f of ['main', 'program', 'new']) await writeFile(join(root, 'src', 'cli', `${f}.ts`), '')
  for (const f of ['main', 'program']) await writeFile(join(root, 'dist', 'cli', `${f}.js`), '')
  const earlier = new Date(Date.now() - 60_000)
  await utimes(join(root, 'dist', 'cli', 'program.js'), earlier, earlier)
  assert.deepEqual(staleBuildOutputs(root).sort(), [join('cli', 'new.ts'), join('cli', 'program.ts')])
  assert.throws(() => assertFreshBuild(root), /dist\/ is older than src\/.*npm run build/)
})

test('an output tsc left as it was (its source touched, not changed) counts as built once the build touched tsc\'s buildinfo', async (t) => {
  const root = await tempDir(t)
  await mkdir(join(root, 'src', 'cli'), { recursive: true })
  await mkdir(join(root, 'dist', 'cli'), { recursive: true })
  for (const f of ['main', 'gone']) await writeFile(join(root, 'src', 'cli', `${f}.ts`), '')
  await writeFile(join(root, 'dist', 'cli', 'main.js'), '')
  const earlier = new Date(Date.now() - 60_000)
  await utimes(join(root, 'dist', 'cli', 'main.js'), earlier, earlier)
  assert.deepEqual(staleBuildOutputs(root).sort(), [join('cli', 'gone.ts'), join('cli', 'main.ts')])
  await writeFile(join(root, 'dist', 'tsconfig.tsbuildinfo'), '{}')
  // A missing output is still stale: the buildinfo vouches only for outputs that exist.
  assert.deepEqual(staleBuildOutputs(root), [join('cli', 'gone.ts')])
})

test('CLI tests refuse a CLI bundle (dist/bundle/) older than a source, or none', async (t) => {
  const root = await tempDir(t)
  await mkdir(join(root, 'src', 'cli'), { recursive: true })
  await mkdir(join(root, 'dist', 'cli'), { recursive: true })
  for (const f of ['main', 'program']) await writeFile(join(root, 'src', 'cli', `${f}.ts`), '')
  for (const f of ['main', 'program']) await writeFile(join(root, 'dist', 'cli', `${f}.js`), '')
  assert.deepEqual(staleBundleSources(root).sort(), [join('cli', 'main.ts'), join('cli', 'program.ts')])
  assert.throws(() => assertFreshBuild(root), /dist\/ is older than src\/.*npm run build/)
  await mkdir(join(root, 'dist', 'bundle'))
  await writeFile(join(root, 'dist', 'bundle', 'meta.json'), '{}')
  const earlier = new Date(Date.now() - 60_000)
  await utimes(join(root, 'src', 'cli', 'main.ts'), earlier, earlier)
  await utimes(join(root, 'dist', 'bundle', 'meta.json'), earlier, earlier)
  assert.deepEqual(staleBundleSources(root), [join('cli', 'program.ts')])
  assert.throws(() => assertFreshBuild(root), /cli\/program\.ts/)
})

test('this checkout\'s dist/ and its CLI bundle are as new as its src/ (npm test builds first)', () => {
  assert.deepEqual(staleBuildOutputs(), [])
  assert.deepEqual(staleBundleSources(), [])
})
