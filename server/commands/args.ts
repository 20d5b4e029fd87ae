/**
 * A small argument parser shared by the commands: `--flag`, `--opt value`,
 * `--opt=value`, `-o value`, positionals, and `--` ending options (the rest is
 * a command to run). Unknown options are errors that name the option and list
 * the known ones.
 */

export interface OptionSpec {
  /** long name without dashes */
  name: string;
  /** one-letter alias */
  short?: string;
  /** takes a value (default false: a boolean flag) */
  value?: boolean;
  /** `--no-<name>` sets it false */
  negatable?: boolean;
  help?: string;
}

export interface Parsed {
  options: Record<string, string | boolean | undefined>;
  positionals: string[];
  /** everything after `--` */
  rest: string[];
}

export class UsageError extends Error {
  override name = 'UsageError';
}

export function parseArgs(argv: string[], specs: OptionSpec[]): Parsed {
  const options: Parsed['options'] = {};
  const positionals: string[] = [];
  const byLong = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.filter((s) => s.short).map((s) => [s.short!, s]));
  const known = () => specs.map((s) => `--${s.name}${s.short ? `/-${s.short}` : ''}`).join(', ');
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') return { options, positionals, rest: argv.slice(i + 1) };
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      let name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      let spec = byLong.get(name);
      if (!spec && name.startsWith('no-') && byLong.get(name.slice(3))?.negatable) {
        name = name.slice(3);
        options[name] = false;
        continue;
      }
      if (!spec) throw new UsageError(`unknown option --${name} (options: ${known()})`);
      if (spec.value) {
        const v = eq >= 0 ? a.slice(eq + 1) : argv[++i];
        if (v === undefined) throw new UsageError(`--${name} needs a value`);
        options[name] = v;
      } else {
        if (eq >= 0) throw new UsageError(`--${name} takes no value`);
        options[name] = true;
      }
    } else if (a.startsWith('-') && a.length > 1 && !/^-\d/.test(a)) {
      const spec = byShort.get(a.slice(1));
      if (!spec) throw new UsageError(`unknown option ${a} (options: ${known()})`);
      if (spec.value) {
        const v = argv[++i];
        if (v === undefined) throw new UsageError(`${a} needs a value`);
        options[spec.name] = v;
      } else options[spec.name] = true;
    } else positionals.push(a);
  }
  return { options, positionals, rest: [] };
}

/** A positive integer option, or the default; a clear error otherwise. */
export function intOption(v: string | boolean | undefined, name: string, dflt: number, min = 1): number {
  if (v === undefined || v === false) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  return n;
}

export function helpText(usage: string, specs: OptionSpec[]): string {
  const lines = specs.map((s) => `  ${`--${s.name}${s.value ? ' <value>' : ''}${s.short ? `, -${s.short}` : ''}`.padEnd(28)} ${s.help ?? ''}`);
  return `${usage}\n\nOptions:\n${lines.join('\n')}\n`;
}
