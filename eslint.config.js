// Structure lint (issue 15): subsystems meet only through their index.ts, no import cycles, no
// floating promises. Run by `npm test` (npm run lint); scope is src/ only.
import { readdirSync } from 'node:fs'
import tseslint from 'typescript-eslint'
import importX from 'eslint-plugin-import-x'

const SUBSYSTEMS = readdirSync(new URL('./src', import.meta.url), { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)

// The CLI may import these leaf modules directly: loading a subsystem's index.ts would load the
// whole subsystem (libp2p, fastify, sqlite) for an `ls` (DECISIONS "The CLI loads only what a verb
// needs"). Each listed module imports nothing heavy; type-only imports go through index.ts.
// node/init.ts is `init`'s whole job; it reaches net/ only for the network key (LEAF_MODULES).
const CLI_LIGHT_MODULES = {
  node: ['./flags.ts', './data-dir.ts', './launcher-watch.ts', './init.ts'],
  files: ['./local-file.ts', './manifest.ts'],
  net: ['./addresses.ts'],
  api: ['./shortfall-words.ts', './proof-words.ts']
}

// Leaf modules any subsystem may import directly, for the same reason: a light path (`init`) must
// not load the subsystem behind its index.ts. Each imports nothing of ours but errors.ts.
const LEAF_MODULES = {
  net: ['./swarm-key.ts']
}

const zones = SUBSYSTEMS.flatMap((from) => [
  {
    target: SUBSYSTEMS.filter((s) => s !== from && s !== 'cli').map((s) => `./src/${s}`),
    from: `./src/${from}`,
    except: ['./index.ts', ...(LEAF_MODULES[from] ?? [])],
    message: `import ${from}/ through its index.ts`
  },
  ...(from === 'cli'
    ? []
    : [{
        target: './src/cli',
        from: `./src/${from}`,
        except: ['./index.ts', ...(CLI_LIGHT_MODULES[from] ?? []), ...(LEAF_MODULES[from] ?? [])],
        message: `import ${from}/ through its index.ts (or a module listed in CLI_LIGHT_MODULES)`
      }])
])

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test/**', 'bench/**', 'bin/**', 'eslint.config.js'] },
  {
    files: ['src/**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname }
    },
    linterOptions: { reportUnusedDisableDirectives: 'off' },
    plugins: { '@typescript-eslint': tseslint.plugin, 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [importX.createNodeResolver({ extensions: ['.ts', '.js'] })]
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-restricted-paths': ['error', { zones }]
    }
  }
)
