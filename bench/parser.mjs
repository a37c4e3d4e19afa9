#!/usr/bin/env node
// Knotty parser throughput and memory: pushes LINES (default 1,000,000) realistic BitBake lines
// through the parser in 64 KiB chunks and prints lines/s and heap before/after.
// Run after `npm run build`: node --expose-gc bench/parser.mjs
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { KnottyParser } from '../dist/bitbake/knotty.js';

const total = Number(process.env.LINES ?? 1_000_000);
const sample = readFileSync(fileURLToPath(new URL('../test/fixtures/bitbake/01-build-success.log', import.meta.url)), 'utf8')
  .split('\n')
  .filter((l) => l.startsWith('NOTE: ') || l.startsWith('WARNING: '));
const parser = new KnottyParser();
const gc = globalThis.gc ?? (() => {});
let text;
let produced = 0;
let i = 0;
// Realistic variety: recipe names change, so the running-task set sees many keys.
function nextChunk() {
  const lines = [];
  let size = 0;
  while (size < 64 * 1024 && produced < total) {
    const line = sample[i++ % sample.length].replace(/yf-hello/g, `recipe${produced % 5000}`);
    lines.push(line);
    size += line.length + 1;
    produced++;
  }
  return `${lines.join('\n')}\n`;
}
gc();
const heapBefore = process.memoryUsage().heapUsed;
const start = process.hrtime.bigint();
let events = 0;
while (produced < total) {
  text = nextChunk();
  events += parser.push(text).length;
}
events += parser.end().length;
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
gc();
const heapAfter = process.memoryUsage().heapUsed;
console.log(
  `${total} lines in ${seconds.toFixed(2)} s: ${Math.round(total / seconds).toLocaleString('en')} lines/s (goal >= 10,000), ${events} events`,
);
console.log(
  `heap before ${(heapBefore / 1048576).toFixed(1)} MiB, after ${(heapAfter / 1048576).toFixed(1)} MiB, rss ${(process.memoryUsage().rss / 1048576).toFixed(0)} MiB`,
);
