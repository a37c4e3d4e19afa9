import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 600_000,
    // Loop devices, dockerd and git fixtures are machine-wide resources; files run one at a time.
    fileParallelism: false,
    reporters: ['default'],
  },
});
