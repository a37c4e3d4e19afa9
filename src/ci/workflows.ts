import { readFileSync } from 'node:fs';
import path from 'node:path';
import Handlebars from 'handlebars';
import { TEMPLATES_DIR } from '../conf/render.js';
import { NAME_PATTERN } from '../manifest/schema.js';
import { shellWord } from '../util/shell.js';
import { VERSION } from '../version.js';

export type CiProvider = 'github' | 'gitlab';
export const CI_PROVIDERS: readonly CiProvider[] = ['github', 'gitlab'];

/** Where each provider reads its pipeline definition, relative to the repository root. */
export const WORKFLOW_FILES: Readonly<Record<CiProvider, string>> = {
  github: '.github/workflows/yoctoforge.yml',
  gitlab: '.gitlab-ci.yml',
};

export const CI_TEMPLATES_DIR = path.join(TEMPLATES_DIR, 'ci');

const TEMPLATE_FILES: Readonly<Record<CiProvider, string>> = {
  github: 'github.yml.hbs',
  gitlab: 'gitlab-ci.yml.hbs',
};

export function isCiProvider(value: string): value is CiProvider {
  return (CI_PROVIDERS as readonly string[]).includes(value);
}

/** A YAML single-quoted scalar: always a string (never `true`, `1.0` or `null`), nothing to escape but `'`. */
export function yamlString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

const handlebars = Handlebars.create();
/** {{yaml a b ...}}: the arguments joined, as a YAML single-quoted scalar. */
handlebars.registerHelper('yaml', (...args: unknown[]) => yamlString(args.slice(0, -1).map(String).join('')));
/** {{sh word}}: a single-quoted shell word. */
handlebars.registerHelper('sh', (word: unknown) => shellWord(String(word)));

const compiled = new Map<CiProvider, Handlebars.TemplateDelegate>();
function template(provider: CiProvider): Handlebars.TemplateDelegate {
  let t = compiled.get(provider);
  if (!t) {
    const text = readFileSync(path.join(CI_TEMPLATES_DIR, TEMPLATE_FILES[provider]), 'utf8');
    t = handlebars.compile(text, { noEscape: true, strict: true });
    compiled.set(provider, t);
  }
  return t;
}

/** What the manifest's cache.shared names, as far as the pipeline cares. */
export interface SharedCacheUse {
  /** cache.shared.publish: nightly builds publish their sstate there */
  publish: boolean;
  /** cache.shared.hashserve: nightly builds log in to report equivalences */
  hashserve: boolean;
  /** cache.shared.publish is an s3:// bucket: the AWS credentials instead of an ssh key */
  s3?: boolean;
}

/**
 * The CI pipeline for `targets`: checks on every push and pull/merge request, full builds
 * nightly and by hand, and a nightly layer bump. With a shared cache, the nightly builds take
 * the read-write role (the hash server's login from CI secrets) and publish; everything else
 * only reads. Same input, same text.
 */
export function renderWorkflow(provider: CiProvider, targets: readonly string[], shared?: SharedCacheUse): string {
  if (!isCiProvider(provider)) throw new Error(`unknown CI provider ${JSON.stringify(provider)}`);
  if (targets.length === 0) throw new Error('renderWorkflow needs at least one target');
  const bad = targets.find((t) => !NAME_PATTERN.test(t));
  if (bad !== undefined) throw new Error(`target name ${JSON.stringify(bad)} is not an identifier (letters, digits, . _ -)`);
  const unique = [...new Set(targets)];
  // GitLab's cache:fallback_keys takes at most 5 keys.
  return template(provider)({
    targets: unique,
    fallbackTargets: unique.slice(0, 5),
    version: VERSION,
    shared: shared && (shared.publish || shared.hashserve) ? { ...shared, s3: Boolean(shared.publish && shared.s3) } : false,
  });
}
