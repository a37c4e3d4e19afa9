import { InputError } from '../errors.js';
export async function runInit(_opts: unknown): Promise<void> {
  throw new InputError('init is not implemented yet');
}
