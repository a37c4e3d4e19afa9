import { shellQuote } from '../util/shell.js';

/*
 * The shell scripts that run BitBake inside the build environment. They are plain text so the
 * same script runs in Docker, in Podman and on the host.
 */

/** Sources oe-init-build-env for the build directory (quietly), then runs `command`. */
export function inBuildEnv(initScript: string, buildDir: string, command: string): string {
  return [
    `. ${shellQuote(initScript)} ${shellQuote(buildDir)} > /dev/null || { echo "yoctoforge: sourcing ${initScript} failed" >&2; exit 3; }`,
    command,
  ].join('\n');
}

export function bitbakeCommand(args: string[]): string {
  return `exec bitbake ${args.map(shellQuote).join(' ')}`;
}

export const PROVIDERS_MARKER = 'YOCTOFORGE-PROVIDERS ';

/**
 * After `bitbake -g`: which recipes provide each package the manifest asked for, read from
 * BitBake's own recipe cache through tinfoil (a package such as ntp-utils is produced by the ntp
 * recipe; docker by docker-moby). Prints one marker line with JSON.
 */
export function providersScript(packages: string[]): string {
  const python = `
import json, os, re, shutil, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(shutil.which("bitbake")))), "lib"))
import bb.tinfoil
wanted = ${JSON.stringify(packages)}
with bb.tinfoil.Tinfoil(output=sys.stderr) as tinfoil:
    tinfoil.prepare(config_only=False, quiet=2)
    cache = tinfoil.cooker.recipecaches[""]
    result = {}
    for pkg in wanted:
        fns = list(cache.packages.get(pkg, [])) or list(cache.rproviders.get(pkg, []))
        if not fns:
            for pattern, pfns in cache.packages_dynamic.items():
                if re.match(pattern, pkg):
                    fns = list(pfns)
                    break
        result[pkg] = sorted({cache.pkg_fn[fn] for fn in fns})
    print("${PROVIDERS_MARKER}" + json.dumps(result), flush=True)
`;
  return `python3 - <<'YOCTOFORGE_PY'\n${python.trim()}\nYOCTOFORGE_PY`;
}
