import { InputError } from '../errors.js';
export async function runConfig(_opts: unknown): Promise<void> {
  throw new InputError('config is not implemented yet');
}
