import { InputError } from '../errors.js';
export async function runLayers(_opts: unknown): Promise<void> {
  throw new InputError('layers is not implemented yet');
}
