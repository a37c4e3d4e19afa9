export interface InstalledPackage {
  name: string;
  arch: string;
  version: string;
}

/** An image's `.manifest` (one "name arch version" line per installed package). */
export function parseImageManifest(text: string): InstalledPackage[] {
  const packages: InstalledPackage[] = [];
  for (const line of text.split('\n')) {
    const [name, arch, version] = line.trim().split(/\s+/);
    if (name && arch && version) packages.push({ name, arch, version });
  }
  return packages.sort((a, b) => a.name.localeCompare(b.name));
}
