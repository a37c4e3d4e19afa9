import { createInterface } from 'node:readline/promises';
import path from 'node:path';
import { InputError, InterruptedError, UserError } from '../errors.js';
import { RefusedError } from '../flash/errors.js';
import { inspectDevice, listDevices, refusals, type DeviceInfo } from '../flash/device.js';
import { describeDevice, flashImage, planFlash, type FlashPlan, type FlashResult } from '../flash/flash.js';
import { chooseImage, findBmapBeside } from '../report/images.js';
import { byteProgress } from '../ui/progress.js';
import { logLine, warnLine } from '../util/output.js';
import { formatSize } from '../util/units.js';

export interface FlashOptions {
  projectDir: string;
  device?: string;
  list?: boolean;
  image?: string;
  /** a bmap file, or false for --no-bmap */
  bmap?: string | false;
  target?: string;
  verify: boolean;
  /** the image is a raw disk image even without a partition table or file-system superblock */
  raw?: boolean;
  /** which file of a zip or tar archive to write */
  member?: string;
  /** false for --no-sig-verify */
  sigVerify: boolean;
  force?: boolean;
  yes?: boolean;
  json?: boolean;
}

export async function runFlash(options: FlashOptions): Promise<void> {
  if (options.list) {
    printDevices(listDevices(), Boolean(options.json));
    return;
  }
  if (!options.json) return await flash(options);
  // --json: one object on stdout whatever happens; the one-line error still goes to stderr
  try {
    await flash(options);
  } catch (error) {
    const exitCode = error instanceof UserError ? error.exitCode : 1;
    const offset = (error as { offset?: unknown }).offset;
    const failure = {
      result: 'failure',
      reason: error instanceof Error ? error.message : String(error),
      exitCode,
      ...(typeof offset === 'number' ? { offset } : {}),
      device: options.device ?? null,
    };
    process.stdout.write(`${JSON.stringify(failure, null, 2)}\n`);
    throw error;
  }
}

async function flash(options: FlashOptions): Promise<void> {
  if (!options.device)
    throw new InputError('name the device to write, e.g. `yoctoforge flash /dev/sdX` (`yoctoforge flash --list` shows candidates)');
  const choice = await chooseImage({ projectDir: options.projectDir, image: options.image, target: options.target });
  const plan = await planFlash({
    image: choice.image,
    device: options.device,
    bmap:
      typeof options.bmap === 'string'
        ? path.resolve(options.bmap)
        : options.bmap === false
          ? undefined
          : await findBmapBeside(choice.image),
    raw: options.raw,
    member: options.member,
    verifySignature: options.sigVerify,
  });
  const say = options.json ? (): void => undefined : logLine;
  // under --json stdout holds the JSON only: warnings (GitHub's `::warning::` lines too) go to stderr
  const warn = options.json ? (line: string): void => void process.stderr.write(`warning: ${line}\n`) : warnLine;
  describePlan(plan, choice.origin, say);
  enforceRefusals(plan, Boolean(options.force), warn);
  if (!options.yes) {
    await confirm(plan.device);
    recheckDevice(plan.device);
  }

  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void =>
    controller.abort(
      new InterruptedError(`interrupted by ${signal}: ${plan.device.path} is incomplete and has no partition table; flash it again`),
    );
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const progress = options.json ? undefined : byteProgress();
  let result: FlashResult;
  try {
    result = await flashImage(plan, {
      verify: options.verify,
      signal: controller.signal,
      onProgress: progress ? (p) => progress.update({ ...p, phase: p.phase === 'write' ? 'writing' : 'verifying' }) : undefined,
    });
  } finally {
    progress?.end();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
  report(plan, result, options, say, warn);
}

/** What stands behind the path now: a device swapped while the prompt waited is not written. */
function recheckDevice(before: DeviceInfo): void {
  const now = inspectDevice(before.path);
  const identity = (d: DeviceInfo): string => `${d.kind} ${d.devno ?? ''} ${d.size}`;
  if (identity(now) !== identity(before)) {
    throw new RefusedError(
      `${before.path} changed while waiting for the confirmation (was ${describeDevice(before)}, now ${describeDevice(now)}): nothing was written`,
    );
  }
}

function describePlan(plan: FlashPlan, origin: string, say: (line: string) => void): void {
  say(`Image: ${plan.image} (${origin}; ${plan.format.label}${plan.imageSize ? `, ${formatSize(plan.imageSize)}` : ''})`);
  if (plan.bmap) {
    say(
      `Bmap: ${plan.bmapFile} (format ${plan.bmap.version}, ${formatSize(plan.bytesToWrite ?? 0)} mapped of ${formatSize(plan.bmap.imageSize)}, ${plan.bmap.checksumType ?? 'no checksums'}` +
        `${plan.bmapSignature ? `, signed by ${plan.bmapSignature}` : ''})`,
    );
  } else {
    say('Bmap: none, writing the whole image');
  }
  say(`Target: ${describeDevice(plan.device)}`);
  for (const p of plan.device.partitions)
    say(`  ${p.name}  ${formatSize(p.size)}${p.mountpoints.length ? `  mounted on ${p.mountpoints.join(', ')}` : ''}`);
}

function enforceRefusals(plan: FlashPlan, force: boolean, warn: (line: string) => void): void {
  const hard = plan.refusals.filter((r) => !r.overridable);
  const soft = plan.refusals.filter((r) => r.overridable);
  if (hard.length > 0) {
    throw new RefusedError(
      `refusing to write to ${plan.device.path}: ${hard[0]!.reason}`,
      [...hard.slice(1), ...soft].map((r) => `  also: ${r.reason}`),
    );
  }
  if (soft.length > 0 && !force) {
    throw new RefusedError(
      `refusing to write to ${plan.device.path}: ${soft[0]!.reason}; --force overrides`,
      soft.slice(1).map((r) => `  also: ${r.reason}`),
    );
  }
  for (const r of soft) warn(`writing anyway (--force): ${r.reason}`);
}

async function confirm(device: DeviceInfo): Promise<void> {
  if (!process.stdin.isTTY) {
    throw new RefusedError(`no terminal to confirm erasing ${device.path}: pass --yes to write without asking`);
  }
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  // Ctrl-D closes the input: an answer that never comes is a "no"
  const closed = new Promise<string>((resolve) => rl.once('close', () => resolve('')));
  try {
    const answer = await Promise.race([
      rl.question(`Erase everything on ${describeDevice(device)} and write the image? Type "yes": `).catch(() => ''),
      closed,
    ]);
    if (answer.trim().toLowerCase() !== 'yes') throw new RefusedError(`not confirmed: ${device.path} was not touched`);
  } finally {
    rl.close();
  }
}

function rate(bytes: number, seconds: number): string {
  return `${formatSize(bytes / Math.max(seconds, 1e-3))}/s`;
}

function report(plan: FlashPlan, r: FlashResult, options: FlashOptions, say: (line: string) => void, warn: (line: string) => void): void {
  if (r.partitionTableWarning) warn(r.partitionTableWarning);
  if (options.json) {
    process.stdout.write(
      `${JSON.stringify({ device: plan.device.path, image: plan.image, bmap: plan.bmapFile ?? null, result: 'success', ...r }, null, 2)}\n`,
    );
    return;
  }
  say(
    `Wrote ${formatSize(r.bytesWritten)}${plan.bmap ? ` (mapped ranges of a ${formatSize(r.imageSize)} image)` : ''} to ${plan.device.path} in ${r.writeSeconds.toFixed(1)} s, ${rate(r.bytesWritten, r.writeSeconds)} (${r.decompressor})`,
  );
  if (r.verified) {
    say(
      `Verified ${formatSize(r.bytesVerified ?? 0)} read back${r.bypassedPageCache ? ' bypassing the page cache' : ' (page cache not bypassable on this device)'}` +
        (r.bytesVerifiedDuringWrite ? `, ${formatSize(r.bytesVerifiedDuringWrite)} of it while writing,` : '') +
        ` ${(r.verifySeconds ?? 0).toFixed(1)} s after the write`,
    );
  } else {
    say('Verification skipped (--no-verify): neither the bmap checksums nor a read-back were checked');
  }
  say(`Done: ${plan.device.path} holds ${path.basename(plan.image)}`);
}

function printDevices(devices: DeviceInfo[], json: boolean): void {
  const rows = devices.map((t) => {
    const why = refusals(t, 0);
    return {
      ...t,
      refused: why.filter((r) => !r.overridable).map((r) => r.reason),
      needsForce: why.filter((r) => r.overridable).map((r) => r.reason),
    };
  });
  if (json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  if (rows.length === 0) {
    process.stdout.write('no block devices found\n');
    return;
  }
  const table = rows.map((t) => [
    t.path,
    formatSize(t.size),
    t.model ?? '-',
    t.transport ?? '-',
    t.removable ? 'yes' : 'no',
    t.partitions.flatMap((p) => p.mountpoints.map((m) => `${p.name}:${m}`)).join(' ') || '-',
    t.refused.length ? `refused: ${t.refused.join('; ')}` : t.needsForce.length ? `needs --force: ${t.needsForce.join('; ')}` : 'ok',
  ]);
  const header = ['DEVICE', 'SIZE', 'MODEL', 'TRANSPORT', 'REMOVABLE', 'MOUNTED', 'STATUS'];
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
  for (const row of [header, ...table]) {
    process.stdout.write(`${row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')}\n`);
  }
}
