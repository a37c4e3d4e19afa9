// Kept in step with package.json by test/version.test.ts; a literal avoids reading JSON at startup.
export const VERSION = '0.2.0';
