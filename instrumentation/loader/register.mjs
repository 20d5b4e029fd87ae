/**
 * `--import` entry for running stmscope from its TypeScript sources (the
 * repository, tests): plain JavaScript, so Node can load it in any thread.
 * worker_threads inherit `--import` flags but not tsx (tsx registers its hooks
 * in the main thread only), so a worker could not load register.ts; here tsx is
 * registered in the thread first when TypeScript cannot be loaded yet.
 * Built packages use dist/instrumentation/loader/register.js instead.
 */
let install;
try {
  install = await import('./install.ts');
} catch (error) {
  if (error?.code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw error;
  const { register } = await import('tsx/esm/api');
  register();
  // a failed import stays cached under its URL: import again under another one
  install = await import('./install.ts?tsx');
}
install.installInstrumentation();
