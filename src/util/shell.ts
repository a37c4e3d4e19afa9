/** A POSIX shell word that stays one literal word: always single-quoted. */
export function shellWord(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Like shellWord, but a word that needs no quoting stays bare, for scripts people read. */
export function shellQuote(value: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(value) ? value : shellWord(value);
}
