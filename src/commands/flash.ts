import { createInterface } from 'node:readline/promises';
import path from 'node:path';
import { InputError, InterruptedError } from '../errors.js';
import { listDevices, refusals, type DeviceInfo } from '../flash/device.js';
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
  force?: boolean;
  yes?: boolean;
  json?: boolean;
}

export async function runFlash(options: FlashOptions): Promise<void> {
  if (options.list) {
    printDevices(listDevices(), Boolean(options.json));
    return;
  }
  if (!options.device) throw new InputError('name the device to write, e.g. `yoctoforge flash /dev/sdX` (`yoctoforge flash --list` shows candidates)');
  const choice = await chooseImage({ projectDir: options.projectDir, image: options.image, target: options.target });
  const plan = await planFlash({
    image: choice.image,
    device: options.device,
    bmap: typeof options.bmap === 'string' ? path.resolve(options.bmap) : options.bmap === false ? undefined : await findBmapBeside(choice.image),
  });
  const say = options.json ? (): void => undefined : logLine;
  describePlan(plan, choice.origin, say);
  enforceRefusals(plan, Boolean(options.force));
  if (!options.yes) await confirm(plan.device);

  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => controller.abort(new InterruptedError(`interrupted by ${signal}: ${plan.device.path} is incomplete and has no partition table; flash it again`));
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
  report(plan, result, options, say);
}

function describePlan(plan: FlashPlan, origin: string, say: (line: string) => void): void {
  say(`Image: ${plan.image} (${origin}; ${plan.compression === 'none' ? 'uncompressed' : plan.compression}${plan.imageSize ? `, ${formatSize(plan.imageSize)}` : ''})`);
  if (plan.bmap) {
    say(`Bmap: ${plan.bmapFile} (format ${plan.bmap.version}, ${formatSize(plan.bytesToWrite ?? 0)} mapped of ${formatSize(plan.bmap.imageSize)}, ${plan.bmap.checksumType})`);
  } else {
    say('Bmap: none, writing the whole image');
  }
  say(`Target: ${describeDevice(plan.device)}`);
  for (const p of plan.device.partitions) say(`  ${p.name}  ${formatSize(p.size)}${p.mountpoints.length ? `  mounted on ${p.mountpoints.join(', ')}` : ''}`);
}

function enforceRefusals(plan: FlashPlan, force: boolean): void {
  const hard = plan.refusals.filter((r) => !r.overridable);
  const soft = plan.refusals.filter((r) => r.overridable);
  if (hard.length > 0) {
    throw new InputError(`refusing to write to ${plan.device.path}: ${hard[0]!.reason}`, [...hard.slice(1), ...soft].map((r) => `  also: ${r.reason}`));
  }
  if (soft.length > 0 && !force) {
    throw new InputError(`refusing to write to ${plan.device.path}: ${soft[0]!.reason}; --force overrides`, soft.slice(1).map((r) => `  also: ${r.reason}`));
  }
  for (const r of soft) warnLine(`writing anyway (--force): ${r.reason}`);
}

async function confirm(device: DeviceInfo): Promise<void> {
  if (!process.stdin.isTTY) {
    throw new InputError(`no terminal to confirm erasing ${device.path}: pass --yes to write without asking`);
  }
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await rl.question(`Erase everything on ${describeDevice(device)} and write the image? Type "yes": `);
    if (answer.trim().toLowerCase() !== 'yes') throw new InputError(`not confirmed: ${device.path} was not touched`);
  } finally {
    rl.close();
  }
}

function rate(bytes: number, seconds: number): string {
  return `${formatSize(bytes / Math.max(seconds, 1e-3))}/s`;
}

function report(plan: FlashPlan, r: FlashResult, options: FlashOptions, say: (line: string) => void): void {
  if (r.partitionTableWarning) warnLine(r.partitionTableWarning);
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
    say('Verification skipped (--no-verify)');
  }
  say(`Done: ${plan.device.path} holds ${path.basename(plan.image)}`);
}

function printDevices(devices: DeviceInfo[], json: boolean): void {
  const rows = devices.map((t) => {
    const why = refusals(t, 0);
    return { ...t, refused: why.filter((r) => !r.overridable).map((r) => r.reason), needsForce: why.filter((r) => r.overridable).map((r) => r.reason) };
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
