/**
 * Vite configuration of the dashboard (ui/). `node scripts/build.mjs` runs
 * `vite build` when ui/index.html exists; the bundle lands in dist/ui, which
 * the server serves (static assets need no token; /api and /ws do).
 *
 * `base: './'` keeps asset URLs relative, so the same bundle works from the
 * server's root and from any sub-path.
 */
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('./ui', import.meta.url));
const outDir = fileURLToPath(new URL('./dist/ui', import.meta.url));

export default defineConfig({
  root,
  base: './',
  plugins: [react()],
  build: {
    outDir,
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // d3 + React + the model make one ~400 kB chunk; nothing to gain from a warning.
    chunkSizeWarningLimit: 1500,
  },
  worker: { format: 'es' },
  server: {
    host: '127.0.0.1',
    // `vite` in ui/ during development: proxy the API to a running `stmscope serve`.
    proxy: {
      '/api': 'http://127.0.0.1:7300',
      '/ws': { target: 'ws://127.0.0.1:7300', ws: true },
    },
  },
});
