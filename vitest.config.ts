import { defineConfig } from 'vitest/config';

// One test command for the whole repository: unit tests next to the code they
// test (`*.test.ts`), multi-process tests and browser end-to-end tests
// (`*.e2e.test.ts`, real Chromium via playwright-core).
export default defineConfig({
  test: {
    include: ['{runtime,instrumentation,model,server,ui,fixtures,bench,scripts}/**/*.test.{ts,tsx}'],
    exclude: ['**/node_modules/**', 'dist/**'],
    // Tests opt in to the in-process agent explicitly; by default no agent thread
    // starts with every heap a test creates.
    env: { STMSCOPE_AGENT: '0' },
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // The machine has 2 cores and many tests start worker threads of their own:
    // running test files one or two at a time keeps timing-sensitive
    // orchestration (barriers, attach/detach) honest.
    maxWorkers: 2,
    fileParallelism: true,
  },
});
