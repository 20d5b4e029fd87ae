/**
 * Bundler plugins running the same transform as the Node loader, for programs
 * that ship bundled: an esbuild plugin and a Vite/Rollup plugin.
 *
 * Sites registered from a bundle name the original files (the plugins see the
 * files before bundling and apply their source maps); they do not register a
 * stack-frame map (the bundle's own source map covers frames: run it with
 * `--enable-source-maps` and mapStackFrame uses Node's cache).
 *
 * ```ts
 * // esbuild
 * await build({ entryPoints: ['src/main.ts'], bundle: true, sourcemap: true,
 *               plugins: [stmscopeEsbuild({ include: ['src/**'] })] });
 * // vite.config.ts
 * export default defineConfig({ plugins: [stmscopeVite()] });
 * ```
 */
import type { Plugin as EsbuildPlugin, Loader } from 'esbuild';
import type { Plugin as VitePlugin } from 'vite';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { instrument, type InstrumentOptions } from './transform.ts';
import { createFilter, type Pattern } from './loader/filter.ts';
import { compileTypeScript } from './loader/typescript.ts';
import type { RawSourceMap } from './sourcemap.ts';

export interface PluginOptions {
  /** only files matching one of these (RegExp on the absolute path, glob, or path prefix; default all) */
  include?: Pattern[];
  /** never files matching one of these (node_modules and stmscope itself are always skipped) */
  exclude?: Pattern[];
  /** base of relative patterns (default process.cwd()) */
  cwd?: string;
  /** passed to instrument() */
  transform?: Pick<InstrumentOptions, 'computed' | 'calls'>;
}

const JS_LIKE = /\.(?:[cm]?[jt]s|[jt]sx)$/;

function loaderFor(path: string): Loader {
  if (/\.tsx$/.test(path)) return 'tsx';
  if (/\.jsx$/.test(path)) return 'jsx';
  if (/\.[cm]?ts$/.test(path)) return 'ts';
  return 'js';
}

/**
 * esbuild plugin: an `onLoad` for user JavaScript/TypeScript files that
 * compiles TypeScript/JSX first (inline source map, which esbuild follows) and
 * instruments the result.
 */
export function stmscopeEsbuild(options: PluginOptions = {}): EsbuildPlugin {
  const accept = createFilter({ include: options.include, exclude: options.exclude, cwd: options.cwd });
  return {
    name: 'stmscope',
    setup(build) {
      build.onLoad({ filter: JS_LIKE }, async (args) => {
        if (args.namespace !== 'file' || !accept(args.path)) return undefined;
        const source = await readFile(args.path, 'utf8');
        const loader = loaderFor(args.path);
        const js = loader === 'js' ? source : compileTypeScript(source, args.path).code;
        const out = instrument(js, pathToFileURL(args.path).href, { ...options.transform, inlineMap: true, registerMap: false });
        if (out.skipped) return { contents: source, loader, resolveDir: dirname(args.path) };
        return { contents: out.code, loader: 'js', resolveDir: dirname(args.path) };
      });
    },
  };
}

/**
 * Vite (and Rollup) plugin: a `transform` hook, run after the other plugins
 * (`enforce: 'post'`) so it sees JavaScript; site positions go through the
 * combined source map of the earlier transforms, the returned map covers only
 * this edit (the bundler composes it).
 */
export function stmscopeVite(options: PluginOptions = {}): VitePlugin {
  const accept = createFilter({ include: options.include, exclude: options.exclude, cwd: options.cwd });
  return {
    name: 'stmscope',
    enforce: 'post',
    transform(code, id) {
      if (id.startsWith('\0')) return null;
      const path = id.split('?')[0];
      if (!accept(path)) return null;
      let inputMap: RawSourceMap | null = null;
      try {
        const combined = (this as { getCombinedSourcemap?: () => unknown }).getCombinedSourcemap?.() as RawSourceMap | undefined;
        if (combined && typeof combined.mappings === 'string' && combined.mappings.length > 0) inputMap = { ...combined, version: 3 };
      } catch {
        inputMap = null;
      }
      const out = instrument(code, pathToFileURL(path).href, { ...options.transform, inputMap, outputMap: 'edit', registerMap: false });
      if (out.skipped) return null;
      return { code: out.code, map: out.map };
    },
  };
}
