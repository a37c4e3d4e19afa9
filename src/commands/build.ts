import { InputError } from '../errors.js';
export async function runBuild(_opts: unknown): Promise<void> {
  throw new InputError('build is not implemented yet');
}
