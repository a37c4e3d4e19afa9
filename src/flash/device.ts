import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { formatSize } from '../util/units.js';

/** What we know of a flash device (a block device, or a regular file with --force), from sysfs and the mount table (no udev needed). */
export interface DeviceInfo {
  path: string;
  kind: 'disk' | 'partition' | 'file' | 'missing' | 'other';
  /** what the path stood for when inspected (major:minor of a device, dev:inode of a file) */
  devno?: string;
  name?: string;
  size: number;
  model?: string;
  transport?: string;
  removable?: boolean;
  /** mount points, swaps and holders found on the device or its partitions */
  inUse: string[];
  /** the device holds the running system's root or boot filesystem */
  system: boolean;
  partitions: Array<{ name: string; size: number; mountpoints: string[] }>;
}

export interface Refusal {
  reason: string;
  /** --force lifts it; the others never lift */
  overridable: boolean;
}

const SYS_BLOCK = '/sys/class/block';

function read(p: string): string | undefined {
  try {
    return readFileSync(p, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Linux dev_t as Node reports it → "major:minor" */
export function majorMinor(rdev: number): string {
  const major = Math.floor(rdev / 256) & 0xfff;
  const minor = (rdev & 0xff) | (Math.floor(rdev / 4096) & 0xfff00);
  return `${major}:${minor}`;
}

function devNumber(dir: string): string | undefined {
  return read(path.join(dir, 'dev'));
}

/** major:minor → mount points, from /proc/self/mountinfo */
function mountsByDevice(): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const line of (read('/proc/self/mountinfo') ?? '').split('\n')) {
    const f = line.split(' ');
    if (f.length < 5) continue;
    const dev = f[2]!;
    const point = f[4]!.replace(/\\040/g, ' ');
    map.set(dev, [...(map.get(dev) ?? []), point]);
  }
  return map;
}

function swapDevices(): Set<string> {
  const out = new Set<string>();
  for (const line of (read('/proc/swaps') ?? '').split('\n').slice(1)) {
    const file = line.split(/\s+/)[0];
    if (!file) continue;
    try {
      const s = statSync(file);
      if (s.isBlockDevice()) out.add(majorMinor(s.rdev));
    } catch {
      // gone
    }
  }
  return out;
}

/** The block device (major:minor) of a mounted path's filesystem, e.g. "/" → 259:2. */
function deviceOfMount(point: string): string | undefined {
  for (const line of (read('/proc/self/mountinfo') ?? '').split('\n')) {
    const f = line.split(' ');
    if (f[4] === point) return f[2];
  }
  return undefined;
}

/** sysfs directory of a block device name, following partitions and holders. */
function blockDir(name: string): string {
  return realpathSync(path.join(SYS_BLOCK, name));
}

function childrenOf(dir: string): string[] {
  const name = path.basename(dir);
  return readdirSync(dir).filter((e) => e.startsWith(name) && existsDir(path.join(dir, e, 'partition')) === 'file');
}

function existsDir(p: string): 'dir' | 'file' | undefined {
  try {
    const s = statSync(p);
    return s.isDirectory() ? 'dir' : 'file';
  } catch {
    return undefined;
  }
}

/** holders (dm, md, LVM) of a device dir, recursively, as names */
function holdersOf(dir: string): string[] {
  const holders = path.join(dir, 'holders');
  const out: string[] = [];
  for (const h of existsDir(holders) === 'dir' ? readdirSync(holders) : []) {
    out.push(h);
    try {
      out.push(...holdersOf(blockDir(h)));
    } catch {
      // vanished
    }
  }
  return out;
}

export function inspectDevice(device: string): DeviceInfo {
  const base: DeviceInfo = { path: device, kind: 'missing', size: 0, inUse: [], system: false, partitions: [] };
  let st;
  try {
    st = statSync(device);
  } catch {
    return base;
  }
  if (st.isFile()) return { ...base, kind: 'file', devno: `${st.dev}:${st.ino}`, size: st.size };
  if (!st.isBlockDevice()) return { ...base, kind: 'other' };
  const devno = majorMinor(st.rdev);
  const sysDir = realpathSync(path.join('/sys/dev/block', devno));
  const name = path.basename(sysDir);
  const isPartition = existsDir(path.join(sysDir, 'partition')) === 'file';
  const diskDir = isPartition ? path.dirname(sysDir) : sysDir;
  const mounts = mountsByDevice();
  const swaps = swapDevices();
  const rootDev = deviceOfMount('/');
  const bootDevs = ['/boot', '/boot/efi', '/boot/firmware'].map(deviceOfMount).filter(Boolean);

  const inUse: string[] = [];
  let system = false;
  const examine = (dir: string, label: string): string[] => {
    const dev = devNumber(dir);
    const points = dev ? (mounts.get(dev) ?? []) : [];
    for (const p of points) inUse.push(`${label} is mounted on ${p}`);
    if (dev && swaps.has(dev)) inUse.push(`${label} is an active swap`);
    if (dev && (dev === rootDev || bootDevs.includes(dev))) system = true;
    for (const h of holdersOf(dir)) {
      const hdev = devNumber(blockDir(h));
      const hpoints = hdev ? (mounts.get(hdev) ?? []) : [];
      inUse.push(`${label} is held by ${h} (device-mapper, LVM or RAID)${hpoints.length ? `, mounted on ${hpoints.join(', ')}` : ''}`);
      if (hdev && (hdev === rootDev || bootDevs.includes(hdev))) system = true;
    }
    return points;
  };
  // A partition is judged with its whole disk: writing it can break the disk's other users.
  examine(diskDir, path.basename(diskDir));
  const partitions = childrenOf(diskDir).map((p) => {
    const dir = path.join(diskDir, p);
    const mountpoints = examine(dir, p);
    return { name: p, size: Number(read(path.join(dir, 'size')) ?? 0) * 512, mountpoints };
  });
  const transport = ((): string | undefined => {
    const real = diskDir;
    if (/\/usb\d*\//.test(real)) return 'usb';
    if (/\/mmc_host\//.test(real) || name.startsWith('mmcblk')) return 'mmc';
    if (/\/nvme\//.test(real)) return 'nvme';
    if (/\/virtual\/block\/loop/.test(real)) return 'loop';
    if (/\/ata\d+\//.test(real)) return 'sata';
    if (/\/virtio/.test(real)) return 'virtio';
    return undefined;
  })();
  return {
    path: device,
    kind: isPartition ? 'partition' : 'disk',
    devno,
    name,
    size: Number(read(path.join(sysDir, 'size')) ?? 0) * 512,
    model:
      read(path.join(diskDir, 'device', 'model')) ??
      (transport === 'loop' ? `loop (${read(path.join(diskDir, 'loop', 'backing_file')) ?? 'no backing file'})` : undefined),
    transport,
    // An SD card in an internal reader can say removable=0: USB and MMC count as removable.
    removable: read(path.join(diskDir, 'removable')) === '1' || transport === 'usb' || transport === 'mmc',
    inUse,
    system,
    partitions,
  };
}

/** Every reason not to write `imageSize` bytes to this device. */
export function refusals(info: DeviceInfo, imageSize: number): Refusal[] {
  const out: Refusal[] = [];
  if (info.kind === 'missing') {
    // a typo under /dev must not become a file there
    const underDev = path.resolve(info.path).startsWith('/dev/');
    return [
      {
        reason: underDev ? `${info.path} does not exist` : `${info.path} does not exist (--force creates it as a regular image file)`,
        overridable: !underDev,
      },
    ];
  }
  if (info.kind === 'other') return [{ reason: `${info.path} is neither a block device nor a regular file`, overridable: false }];
  if (info.kind === 'file') {
    out.push({ reason: `${info.path} is a regular file, not a block device (--force writes the image into it)`, overridable: true });
    return out;
  }
  if (info.system) out.push({ reason: `${info.path} holds the running system's root or boot filesystem`, overridable: false });
  // the running system's disk is never a target: unmounting its root is no advice to give
  for (const use of info.inUse) out.push({ reason: info.system ? use : `${use}: unmount it first`, overridable: false });
  if (info.kind === 'partition')
    out.push({ reason: `${info.path} is a partition, not a whole disk (the image has its own partition table)`, overridable: true });
  if (info.size < imageSize)
    out.push({ reason: `${info.path} has ${formatSize(info.size)}, the image needs ${formatSize(imageSize)}`, overridable: false });
  if (info.kind === 'disk' && !info.removable)
    out.push({ reason: `${info.path} is not a removable disk (${info.transport ?? 'unknown transport'})`, overridable: true });
  return out;
}

/** Block devices that could be flash targets, whole disks only. */
export function listDevices(): DeviceInfo[] {
  const out: DeviceInfo[] = [];
  for (const name of readdirSync('/sys/block').sort()) {
    if (/^(ram|zram|dm-|md|sr)/.test(name)) continue;
    if (name.startsWith('loop') && !read(path.join('/sys/block', name, 'loop', 'backing_file'))) continue;
    const node = `/dev/${name}`;
    try {
      if (statSync(node).isBlockDevice()) out.push(inspectDevice(node));
    } catch {
      // no node (no udev): skip
    }
  }
  return out;
}
