import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const TASKS = ['populate_lic', 'populate_sysroot', 'deploy_source_date_epoch', 'package', 'packagedata', 'package_write_rpm'];

/**
 * An SSTATE_DIR shaped like BitBake's (scarthgap sstate.bbclass: `XX/YY/sstate:PN:...:HASH_TASK.tar.zst`
 * beside its `.siginfo`), plus the local-only files a publish must leave out: BitBake's mktemp
 * file of an object being written and a lock file. Returns the object paths, relative.
 */
export function makeSstateTree(dir: string, count: number, size = 4096, seed = 'yf'): string[] {
  const objects: string[] = [];
  for (let i = 0; i < count; i++) {
    const hash = createHash('sha256').update(`${seed}-${i}`).digest('hex');
    const task = TASKS[i % TASKS.length]!;
    const rel = `${hash.slice(0, 2)}/${hash.slice(2, 4)}/sstate:yf-hello-native:x86_64-linux:1.0:r0:x86_64:11:${hash}_${task}.tar.zst`;
    mkdirSync(path.join(dir, path.dirname(rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), randomBytes(size));
    writeFileSync(path.join(dir, `${rel}.siginfo`), randomBytes(Math.max(64, size >> 4)));
    objects.push(rel);
  }
  const first = objects[0];
  if (first) {
    writeFileSync(path.join(dir, `${first.replace(/\.tar\.zst$/, '')}.tar.zst.Xa8b2QfT`), 'half an object');
    writeFileSync(path.join(dir, path.dirname(first), 'sstate.lock'), '');
  }
  return objects;
}
