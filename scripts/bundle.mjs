// Bundles the CLI into dist/cli/ so that start-up loads a handful of files instead of the
// hundreds of ESM modules of its dependencies (the difference is most of a warm `sync`).
// Lazily imported command modules become separate chunks, still loaded only when used.
// tsc's per-file output stays in dist/ for tools that import single modules.
import { build } from 'esbuild';

await build({
  entryPoints: { main: 'src/cli/main.ts' },
  outdir: 'dist/cli',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'bundle',
  chunkNames: 'chunk-[hash]',
  sourcemap: true,
  legalComments: 'linked',
  // CommonJS dependencies bundled into ESM need a require().
  banner: { js: "import { createRequire as __yfCreateRequire } from 'node:module'; const require = __yfCreateRequire(import.meta.url);" },
  logLevel: 'warning',
  plugins: [zodWithoutLocales()],
});

/**
 * zod's 60-odd translations of its messages (`z.locales`, 340 KB, nearly half of zod) are parsed
 * at every start of a command that reads the manifest; yoctoforge words its own messages and zod
 * registers English by itself, so the bundle gets an empty `z.locales`.
 */
function zodWithoutLocales() {
  return {
    name: 'zod-without-locales',
    setup(b) {
      b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
        /[\\/]zod[\\/]v4[\\/](classic|core)[\\/]/.test(args.importer) ? { path: 'zod-locales', namespace: 'yoctoforge-empty' } : undefined,
      );
      b.onLoad({ filter: /.*/, namespace: 'yoctoforge-empty' }, () => ({ contents: 'export {};', loader: 'js' }));
    },
  };
}
