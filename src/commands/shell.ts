import { InputError } from '../errors.js';
export async function runShell(_opts: unknown): Promise<void> {
  throw new InputError('shell is not implemented yet');
}
