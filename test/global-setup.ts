// Most CLI tests run dist/cli/main.js. Bundling it from the current sources before every run
// means no test can exercise a stale build (esbuild takes about a second; tsc is not needed for it).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function bundleCli(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const r = spawnSync(process.execPath, ['scripts/bundle.mjs'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('bundling the CLI for the tests failed (node scripts/bundle.mjs)');
}
