import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 600_000,
    // Loop devices, dockerd and git fixtures are machine-wide resources; files run one at a time.
    fileParallelism: false,
    // .ci/run asks for a JSON report too, to print a plain "N passed, N failed" line.
    reporters: process.env.YOCTOFORGE_VITEST_JSON ? ['default', 'json'] : ['default'],
    outputFile: process.env.YOCTOFORGE_VITEST_JSON ? { json: process.env.YOCTOFORGE_VITEST_JSON } : undefined,
  },
});
