import { InputError } from '../errors.js';
export async function runSync(_opts: unknown): Promise<void> {
  throw new InputError('sync is not implemented yet');
}
