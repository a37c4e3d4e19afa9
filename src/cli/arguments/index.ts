import type { Command } from 'commander';
import { registerInit } from './init.js';
import { registerSync } from './sync.js';
import { registerLayers } from './layers.js';
import { registerConfig } from './config.js';
import { registerBuild } from './build.js';
import { registerShell } from './shell.js';
import { registerFlash } from './flash.js';
import { registerLock } from './lock.js';
import { registerReport } from './report.js';
import { registerBundle } from './bundle.js';
import { registerCi } from './ci.js';
import { registerKas } from './kas.js';
import { registerCache } from './cache.js';

export function registerCommands(program: Command): void {
  registerInit(program);
  registerSync(program);
  registerLayers(program);
  registerConfig(program);
  registerBuild(program);
  registerShell(program);
  registerFlash(program);
  registerLock(program);
  registerReport(program);
  registerBundle(program);
  registerCi(program);
  registerKas(program);
  registerCache(program);
}
