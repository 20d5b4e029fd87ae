/**
 * The source transform: gives every member access and every plain call of a
 * module a static **site id**, so the runtime's barriers know which line of
 * user code made each transactional read or write for the price of one
 * integer store (see runtime/sites.ts for the other side).
 *
 * ```
 *   acct.balance -= amount        (__stm$c[0]=__stm$b+3,acct).balance -= amount
 *   atomic(() => ...)        ──►  (__stm$c[0]=__stm$b+4,atomic)(() => ...)
 *   a.b.c                         (__stm$t=(__stm$c[0]=__stm$b+5,a).b,__stm$c[0]=__stm$b+6,__stm$t).c
 *   arr.set(i, arr.get(i) + 1)    arr.set(i, (__stm$t=(…,arr).get(i) + 1,__stm$c[0]=__stm$b+7,__stm$t))
 * ```
 *
 * The site store must be the last thing evaluated before the access: the
 * barrier of `o.p` runs after `o` is evaluated, the setter of `o.p = v` after
 * `v`, and the body of `m` in `o.m(args)` after the arguments. So the short
 * form `(store, o)` is used only when nothing evaluated after the store can run
 * user code (identifiers, literals, `this`, closures); otherwise the store moves
 * after that code through the temporary `__stm$t` (no user code runs between
 * its write and its read, so one temporary per module is enough, even across
 * generators and async functions).
 *
 * Edits are insertions only and never contain a line break: line numbers stay,
 * columns move, and the output source map is the input map with shifted columns
 * (sourcemap.ts). The module's bookkeeping goes at the first statement (a fixed
 * ~140-character prologue) and after the last line (the site table, a hoisted
 * function declaration, so its length never shifts mapped code):
 *
 * ```
 *   var __stm$r=globalThis[Symbol.for("stmscope.sites")];__stm$c=…;__stm$b=…;<first statement>
 *   … user code …
 *   function __stm$m(){return {url,sources,names,sites,map}}function __stm$c(){}function __stm$b(){}function __stm$t(){}
 * ```
 *
 * `__stm$c`, `__stm$b` and `__stm$t` are declared as functions because function
 * declarations are initialised when the module is instantiated: in an ES module
 * import cycle another module may call this module's functions before its body
 * (and so the prologue) has run; a `const` would then throw a TDZ
 * ReferenceError, while here the store merely lands on a dummy function object.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseProgram, type AstNode } from './parse.ts';
import { SITE_STRIDE, SITES_GLOBAL_KEY, type ModuleSites } from '../runtime/sites.ts';
import {
  composeEdit,
  decodeDataUrl,
  editMappings,
  encodeDecoded,
  findSourceMappingComment,
  inlineSourceMapComment,
  lineOf,
  lineStarts,
  parseSourceMap,
  resolveSource,
  SourceMap,
  type Insertion,
  type RawSourceMap,
  type SourceMappingComment,
} from './sourcemap.ts';

export interface InstrumentOptions {
  /** Parse goal; `'unknown'` (default) tries module, then script. */
  sourceType?: 'module' | 'script' | 'unknown';
  /**
   * Map from `code` to the original sources (e.g. the TypeScript compiler's).
   * Default: the code's own `sourceMappingURL` comment (inline `data:` URL, or a
   * file next to a `file:` URL). `null`: ignore any.
   */
  inputMap?: RawSourceMap | string | null;
  /**
   * What the returned `map` describes: `'composed'` (default) maps the output
   * to the original sources (input map applied); `'edit'` maps the output to
   * `code` only (what a bundler's `transform` hook must return: it composes
   * maps itself).
   */
  outputMap?: 'composed' | 'edit';
  /** Append a `//# sourceMappingURL=data:` comment with the composed map (default false). */
  inlineMap?: boolean;
  /** Put the composed map into the registered ModuleSites (for stack frames; default true). */
  registerMap?: boolean;
  /** Also instrument computed accesses `o[k]` (default false). */
  computed?: boolean;
  /** Instrument plain calls `f(x)` (default true). */
  calls?: boolean;
  /** Reads an original source or an external source map (default: fs.readFileSync for paths). */
  readFile?: (path: string) => string | undefined;
}

export interface InstrumentResult {
  /** the instrumented code, or `code` unchanged when `skipped` */
  code: string;
  /** source map v3 JSON of the output (see InstrumentOptions.outputMap); null when skipped */
  map: string | null;
  /** the site table registered by the output when it runs */
  sites: ModuleSites;
  /** why the code was left unchanged (already instrumented, parse error, no sites) */
  skipped?: string;
}

/** Objects whose members are never transactional: skipped for speed. */
export const GLOBAL_OBJECTS: ReadonlySet<string> = new Set([
  'Math', 'JSON', 'console', 'Atomics', 'Reflect', 'Object', 'Array', 'Number', 'String', 'Symbol',
  'Promise', 'BigInt', 'Boolean', 'Date', 'RegExp', 'Error', 'TypeError', 'RangeError', 'SyntaxError',
  'Map', 'Set', 'WeakMap', 'WeakSet', 'WeakRef', 'Proxy', 'Function', 'Intl', 'ArrayBuffer',
  'SharedArrayBuffer', 'DataView', 'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array',
  'Uint16Array', 'Int32Array', 'Uint32Array', 'Float32Array', 'Float64Array', 'BigInt64Array',
  'BigUint64Array', 'process', 'globalThis', 'window', 'self', 'global', 'document', 'navigator',
  'performance', 'Buffer', 'URL', 'URLSearchParams', 'TextEncoder', 'TextDecoder', 'crypto',
  'arguments', 'require', 'module', 'exports', 'Iterator', 'WebAssembly',
]);

/** Plain calls that never reach a barrier: skipped (plus GLOBAL_OBJECTS, and `eval`, which must stay direct). */
export const GLOBAL_FUNCTIONS: ReadonlySet<string> = new Set([
  ...GLOBAL_OBJECTS, 'eval', 'parseInt', 'parseFloat', 'isNaN', 'isFinite', 'encodeURI',
  'encodeURIComponent', 'decodeURI', 'decodeURIComponent', 'setTimeout', 'setInterval',
  'setImmediate', 'clearTimeout', 'clearInterval', 'clearImmediate', 'queueMicrotask',
  'structuredClone', 'fetch', 'atob', 'btoa',
]);

const PREFIX = '__stm$';
/**
 * Version of the transform's output: part of the transform cache's key
 * (loader/cache.ts). Bump it whenever the same input would give other output.
 */
export const TRANSFORM_VERSION = 2;
const KEY_LITERAL = JSON.stringify(SITES_GLOBAL_KEY);
/** Fixed text at the first statement (no variable part: its length never depends on the module). */
export const PROLOGUE =
  `var __stm$r=globalThis[Symbol.for(${KEY_LITERAL})];` +
  `__stm$c=__stm$r?__stm$r.cell:new Int32Array(1);` +
  `__stm$b=__stm$r?__stm$r.register(__stm$m()):0;`;
const HOISTED = 'function __stm$c(){}function __stm$b(){}function __stm$t(){}';

// ---- AST plumbing -------------------------------------------------------------

// acorn's ESTree nodes, accessed loosely: this file reads many node kinds and
// the transform must not depend on the typing of every one.
type N = AstNode;

/** Child keys per node type, in source order (ES2025 ESTree as produced by acorn). */
const KEYS: Record<string, readonly string[]> = {
  Program: ['body'],
  ExpressionStatement: ['expression'],
  BlockStatement: ['body'],
  StaticBlock: ['body'],
  EmptyStatement: [],
  DebuggerStatement: [],
  WithStatement: ['object', 'body'],
  ReturnStatement: ['argument'],
  LabeledStatement: ['body'],
  BreakStatement: [],
  ContinueStatement: [],
  IfStatement: ['test', 'consequent', 'alternate'],
  SwitchStatement: ['discriminant', 'cases'],
  SwitchCase: ['test', 'consequent'],
  ThrowStatement: ['argument'],
  TryStatement: ['block', 'handler', 'finalizer'],
  CatchClause: ['param', 'body'],
  WhileStatement: ['test', 'body'],
  DoWhileStatement: ['body', 'test'],
  ForStatement: ['init', 'test', 'update', 'body'],
  ForInStatement: ['left', 'right', 'body'],
  ForOfStatement: ['left', 'right', 'body'],
  FunctionDeclaration: ['id', 'params', 'body'],
  VariableDeclaration: ['declarations'],
  VariableDeclarator: ['id', 'init'],
  ThisExpression: [],
  ArrayExpression: ['elements'],
  ObjectExpression: ['properties'],
  Property: ['key', 'value'],
  FunctionExpression: ['id', 'params', 'body'],
  UnaryExpression: ['argument'],
  UpdateExpression: ['argument'],
  BinaryExpression: ['left', 'right'],
  AssignmentExpression: ['left', 'right'],
  LogicalExpression: ['left', 'right'],
  MemberExpression: ['object', 'property'],
  ConditionalExpression: ['test', 'consequent', 'alternate'],
  CallExpression: ['callee', 'arguments'],
  NewExpression: ['callee', 'arguments'],
  SequenceExpression: ['expressions'],
  ArrowFunctionExpression: ['params', 'body'],
  YieldExpression: ['argument'],
  TemplateLiteral: ['quasis', 'expressions'],
  TaggedTemplateExpression: ['tag', 'quasi'],
  TemplateElement: [],
  ObjectPattern: ['properties'],
  ArrayPattern: ['elements'],
  RestElement: ['argument'],
  AssignmentPattern: ['left', 'right'],
  ClassBody: ['body'],
  MethodDefinition: ['key', 'value'],
  PropertyDefinition: ['key', 'value'],
  ClassDeclaration: ['id', 'superClass', 'body'],
  ClassExpression: ['id', 'superClass', 'body'],
  MetaProperty: [],
  ImportDeclaration: ['specifiers', 'source', 'attributes'],
  ImportSpecifier: [],
  ImportDefaultSpecifier: [],
  ImportNamespaceSpecifier: [],
  ImportAttribute: [],
  ExportNamedDeclaration: ['declaration', 'specifiers', 'source', 'attributes'],
  ExportSpecifier: [],
  ExportDefaultDeclaration: ['declaration'],
  ExportAllDeclaration: ['source', 'attributes'],
  AwaitExpression: ['argument'],
  ImportExpression: ['source', 'options'],
  ChainExpression: ['expression'],
  ParenthesizedExpression: ['expression'],
  SpreadElement: ['argument'],
  Identifier: [],
  PrivateIdentifier: [],
  Literal: [],
  Super: [],
};

function childKeys(node: N): readonly string[] {
  const k = KEYS[node.type];
  if (k) return k;
  // unknown node type (newer acorn): every object-valued property
  return Object.keys(node).filter((key) => {
    const v = node[key];
    return v && typeof v === 'object' && (Array.isArray(v) || typeof v.type === 'string');
  });
}

const FUNCTION_TYPES = new Set(['FunctionDeclaration', 'FunctionExpression', 'ArrowFunctionExpression']);

/**
 * True when evaluating `node` runs no user code and touches no site, so a site
 * store before it is still current after it. Conservative: anything unknown is impure.
 */
function isPure(node: N | null | undefined): boolean {
  if (!node) return true;
  switch (node.type) {
    case 'Identifier':
    case 'Literal':
    case 'ThisExpression':
    case 'FunctionExpression':
    case 'ArrowFunctionExpression':
    case 'MetaProperty':
    case 'TemplateElement':
      return true;
    case 'ParenthesizedExpression':
      return isPure(node.expression);
    case 'TemplateLiteral':
      return node.expressions.every(isPure);
    case 'UnaryExpression':
      return node.operator !== 'delete' && isPure(node.argument);
    case 'BinaryExpression':
    case 'LogicalExpression':
      return isPure(node.left) && isPure(node.right);
    case 'ConditionalExpression':
      return isPure(node.test) && isPure(node.consequent) && isPure(node.alternate);
    case 'SequenceExpression':
      return node.expressions.every(isPure);
    case 'ArrayExpression':
      return node.elements.every((e: N | null) => !e || (e.type !== 'SpreadElement' && isPure(e)));
    case 'ObjectExpression':
      return node.properties.every(
        (p: N) => p.type === 'Property' && (!p.computed || isPure(p.key)) && (p.kind !== 'init' || p.method || isPure(p.value)),
      );
    case 'MemberExpression':
      // members of well-known globals (Math.PI, process.env.X) get no site and run no user code
      return !node.computed && isGlobalPath(node.object);
    default:
      return false;
  }
}

/**
 * `Math`, `process.env`, `module.exports`: a well-known global or a plain
 * property path from one. Their members are skipped (speed, and CommonJS export
 * detection by cjs-module-lexer must still see `module.exports.x = …`).
 */
function isGlobalPath(node: N): boolean {
  let n = node;
  while (n.type === 'MemberExpression' && !n.computed && n.property.type === 'Identifier') n = n.object;
  return n.type === 'Identifier' && (GLOBAL_OBJECTS.has(n.name) || isHelperName(n.name));
}

/** `__name`, `__publicField`, `__toESM`…: compiler-emitted helpers (esbuild, tsc, Babel), never user code. */
function isHelperName(name: string): boolean {
  return name.charCodeAt(0) === 95 && name.charCodeAt(1) === 95;
}

function keyName(key: N, computed: boolean): string {
  if (computed) return key.type === 'Literal' ? String(key.value) : '[computed]';
  if (key.type === 'Identifier') return key.name;
  if (key.type === 'PrivateIdentifier') return `#${key.name}`;
  if (key.type === 'Literal') return String(key.value);
  return '[computed]';
}

/** `a.b.c` as a dotted name (for `a.b.c = function () {}`), else undefined. */
function dottedName(node: N): string | undefined {
  if (node.type === 'Identifier') return node.name;
  if (node.type === 'ThisExpression') return 'this';
  if (node.type === 'MemberExpression' && !node.computed) {
    const o = dottedName(node.object);
    return o === undefined ? undefined : `${o}.${keyName(node.property, false)}`;
  }
  return undefined;
}

/** Name of the function called by `callee` (for naming callbacks), else undefined. */
function calleeName(callee: N): string | undefined {
  if (callee.type === 'Identifier') return callee.name;
  if (callee.type === 'MemberExpression') return keyName(callee.property, callee.computed);
  return undefined;
}

/** Whether a statement ends so that a following `(` cannot continue it (see ASI note in visitList). */
function endsSafely(code: string, stmt: N): boolean {
  switch (stmt.type) {
    case 'FunctionDeclaration':
    case 'ClassDeclaration':
    case 'BlockStatement':
    case 'TryStatement':
    case 'SwitchStatement':
    case 'EmptyStatement':
    case 'StaticBlock':
      return true;
    case 'IfStatement':
      return endsSafely(code, stmt.alternate ?? stmt.consequent);
    case 'ForStatement':
    case 'ForInStatement':
    case 'ForOfStatement':
    case 'WhileStatement':
    case 'LabeledStatement':
    case 'WithStatement':
      return endsSafely(code, stmt.body);
    case 'ExportNamedDeclaration':
    case 'ExportDefaultDeclaration':
      if (stmt.declaration && (stmt.declaration.type === 'FunctionDeclaration' || stmt.declaration.type === 'ClassDeclaration')) return true;
      return code.charCodeAt(stmt.end - 1) === 59;
    default:
      return code.charCodeAt(stmt.end - 1) === 59; // ';'
  }
}

// ---- the walk --------------------------------------------------------------------

const enum Prio {
  /** closes a node ending here */
  Suffix = 0,
  Prologue = 1,
  /** `;` protecting a statement that now starts with `(` */
  Guard = 2,
  /** opens a node starting here */
  Prefix = 3,
}

interface Edit {
  offset: number;
  prio: Prio;
  text: string;
  mapTo?: number;
}

interface PendingSite {
  /** generated offset of the accessed member (property name) or call */
  offset: number;
  /** property or callee name, to refine columns from coarse input maps */
  name: string;
  fn: string;
}

class Walker {
  readonly edits: Edit[] = [];
  readonly sites: PendingSite[] = [];
  /** input offsets V8 may report in stack frames (identity maps only), or null */
  readonly anchors: number[] | null;
  /** offsets holding a Prefix edit (to place ASI guards) */
  private readonly prefixAt = new Set<number>();
  /** names inferred by parents for function/class nodes */
  private inferred = new Map<N, string>();
  private fn = '<top-level>';
  /** the function being visited wrote the temporary (see visitFunction) */
  private tempUsed = false;
  private className = '<class>';
  private withDepth = 0;

  constructor(
    private readonly code: string,
    private readonly computed: boolean,
    private readonly calls: boolean,
    anchors: boolean,
  ) {
    this.anchors = anchors ? [] : null;
  }

  /** Drops the references into the syntax tree once the walk is done. */
  releaseTree(): void {
    this.inferred = new Map();
  }

  private store(k: number): string {
    return `__stm$c[0]=__stm$b+${k}`;
  }

  private site(offset: number, name: string): number {
    this.sites.push({ offset, name, fn: this.fn });
    return this.sites.length - 1;
  }

  private prefix(offset: number, text: string): void {
    this.edits.push({ offset, prio: Prio.Prefix, text });
    this.prefixAt.add(offset);
  }

  private suffix(offset: number, text: string, mapTo?: number): void {
    this.edits.push({ offset, prio: Prio.Suffix, text, mapTo });
  }

  /** `(store, node)` or, if evaluating node may run user code, `(__stm$t=node, store, __stm$t)`. */
  private wrapBefore(node: N, k: number, pure: boolean, mapTo?: number): void {
    if (pure) {
      this.prefix(node.start, `(${this.store(k)},`);
      this.suffix(node.end, ')', mapTo);
    } else {
      this.wrapAfter(node, k, mapTo);
    }
  }

  /** `(__stm$t=node, store, __stm$t)`: the store happens after node is evaluated. */
  private wrapAfter(node: N, k: number, mapTo?: number): void {
    this.tempUsed = true;
    this.prefix(node.start, '(__stm$t=');
    this.suffix(node.end, `,${this.store(k)},__stm$t)`, mapTo);
  }

  addPrologue(offset: number): void {
    this.edits.push({ offset, prio: Prio.Prologue, text: PROLOGUE });
  }

  // -- generic ------------------------------------------------------------------

  visit(node: N | null | undefined): void {
    if (!node) return;
    switch (node.type) {
      case 'Program':
      case 'BlockStatement':
      case 'StaticBlock':
        this.visitList(node.body);
        return;
      case 'SwitchCase':
        this.visit(node.test);
        this.visitList(node.consequent);
        return;
      case 'FunctionDeclaration':
      case 'FunctionExpression':
      case 'ArrowFunctionExpression':
        this.visitFunction(node);
        return;
      case 'ClassDeclaration':
      case 'ClassExpression':
        this.visitClass(node);
        return;
      case 'VariableDeclarator':
        if (node.init && node.id.type === 'Identifier') this.nameValue(node.init, node.id.name);
        this.visit(node.id);
        this.visit(node.init);
        return;
      case 'Property':
        if (node.kind === 'init' && !node.method) {
          const k = keyName(node.key, node.computed);
          this.nameValue(node.value, k);
        } else if (FUNCTION_TYPES.has(node.value.type)) {
          const k = keyName(node.key, node.computed);
          this.inferred.set(node.value, node.kind === 'init' ? k : `${node.kind} ${k}`);
        }
        if (node.computed) this.visit(node.key);
        this.visit(node.value);
        return;
      case 'AssignmentExpression':
        this.visitAssignment(node);
        return;
      case 'MemberExpression':
        this.visitMember(node, true);
        return;
      case 'CallExpression':
        this.visitCall(node);
        return;
      case 'NewExpression':
        this.anchors?.push(node.start);
        this.visit(node.callee);
        this.visitAll(node.arguments);
        return;
      case 'WithStatement':
        this.visit(node.object);
        this.withDepth++;
        this.visit(node.body);
        this.withDepth--;
        return;
      case 'ExportDefaultDeclaration':
        if (node.declaration && !node.declaration.id) this.nameValue(node.declaration, 'default');
        this.visit(node.declaration);
        return;
      case 'Identifier':
      case 'Literal':
      case 'ThisExpression':
      case 'Super':
      case 'TemplateElement':
      case 'PrivateIdentifier':
      case 'MetaProperty':
        return;
      default: {
        for (const key of childKeys(node)) {
          const v = node[key];
          if (Array.isArray(v)) this.visitAll(v);
          else if (v && typeof v === 'object') this.visit(v);
        }
      }
    }
  }

  private visitAll(nodes: Array<N | null>): void {
    for (const n of nodes) if (n) this.visit(n);
  }

  /**
   * A statement list. ASI: `x = y⏎o.p = 1` becomes `x = y⏎(s,o).p = 1`, which
   * would parse as a call `y(s,o)`: a statement that now starts with `(` after a
   * statement that may end in an expression gets a `;` guard. (Only in lists:
   * single-statement bodies follow `)`, `else`, `do` or `:`, where `(` is safe.)
   */
  private visitList(list: N[]): void {
    for (let i = 0; i < list.length; i++) {
      const stmt = list[i];
      this.visit(stmt);
      if (i > 0 && stmt.type === 'ExpressionStatement' && this.prefixAt.has(stmt.start) && !endsSafely(this.code, list[i - 1])) {
        this.edits.push({ offset: stmt.start, prio: Prio.Guard, text: ';' });
      }
    }
  }

  private nameValue(value: N, name: string): void {
    const v = value.type === 'ParenthesizedExpression' ? value.expression : value;
    if (FUNCTION_TYPES.has(v.type) || v.type === 'ClassExpression') {
      if (!v.id) this.inferred.set(v, name);
    }
  }

  private visitFunction(node: N): void {
    const outer = this.fn;
    const outerTemp = this.tempUsed;
    this.tempUsed = false;
    this.fn = this.inferred.get(node) ?? node.id?.name ?? (outer === '<top-level>' ? '<anonymous>' : `${outer}/<anonymous>`);
    this.visitAll(node.params);
    this.visit(node.body);
    // A function that needs the temporary gets its own (a `var` at the end of
    // its body, hoisted, so no column before it moves): a module-level one is
    // a context slot, and storing a double there allocates a heap number on
    // every access in hot loops. Expression-bodied arrows (no statement list)
    // and parameter defaults use the enclosing binding, ultimately the module's.
    if (this.tempUsed && node.body.type === 'BlockStatement') this.suffix(node.body.end - 1, ';var __stm$t;');
    this.tempUsed = outerTemp;
    this.fn = outer;
  }

  private visitClass(node: N): void {
    const outerClass = this.className;
    const outerFn = this.fn;
    this.visit(node.superClass);
    this.className = node.id?.name ?? this.inferred.get(node) ?? '<class>';
    for (const el of node.body.body as N[]) {
      if (el.type === 'MethodDefinition') {
        const k = keyName(el.key, el.computed);
        const prefix = el.kind === 'get' || el.kind === 'set' ? `${el.kind} ` : '';
        if (el.computed) {
          this.fn = outerFn;
          this.visit(el.key);
        }
        this.inferred.set(el.value, `${this.className}.${prefix}${k}`);
        this.visit(el.value);
      } else if (el.type === 'PropertyDefinition') {
        if (el.computed) {
          this.fn = outerFn;
          this.visit(el.key);
        }
        if (el.value) {
          const k = keyName(el.key, el.computed);
          this.fn = el.static ? `${this.className}.<static>` : `${this.className}.constructor`;
          this.nameValue(el.value, `${this.className}.${k}`);
          this.visit(el.value);
        }
      } else if (el.type === 'StaticBlock') {
        this.fn = `${this.className}.<static>`;
        this.visit(el);
      } else {
        this.visit(el);
      }
      this.fn = outerFn;
    }
    this.className = outerClass;
  }

  // -- accesses --------------------------------------------------------------------

  /** Whether `o.p` (or `o[k]` with `computed`) gets a site at all. */
  private instrumentable(node: N): boolean {
    if (node.computed && !this.computed) return false;
    const obj = node.object;
    if (obj.type === 'Super' || obj.type === 'MetaProperty') return false;
    if (node.property.type === 'PrivateIdentifier') return false;
    return !isGlobalPath(obj);
  }

  /**
   * Whether `(…, object)` may wrap the object of this member: not when the
   * object is an optional chain link (`a?.b` in `a?.b.c`), since wrapping it
   * would end the chain and `(…, undefined).c` would throw where the original
   * short-circuits. Only the head of a chain and links before its first `?.`
   * can be wrapped.
   */
  private static objectWrappable(node: N): boolean {
    let o: N = node.object;
    for (;;) {
      if (o.type === 'MemberExpression') {
        if (o.optional) return false;
        o = o.object;
      } else if (o.type === 'CallExpression') {
        if (o.optional) return false;
        o = o.callee;
      } else {
        return true;
      }
    }
  }

  private propertyOffset(node: N): number {
    return node.computed ? node.object.end : node.property.start;
  }

  /**
   * A member access. `wrap` false: the parent puts the store elsewhere (after
   * the arguments of a call, after the value of an assignment) and has already
   * registered the site.
   */
  private visitMember(node: N, wrap: boolean): void {
    if (!node.computed) this.anchors?.push(node.property.start);
    if (wrap && this.instrumentable(node) && Walker.objectWrappable(node)) {
      const k = this.site(this.propertyOffset(node), node.computed ? '' : node.property.name);
      this.wrapBefore(node.object, k, isPure(node.object));
    }
    this.visit(node.object);
    if (node.computed) this.visit(node.property);
  }

  private visitCall(node: N): void {
    const callee: N = node.callee;
    const args: N[] = node.arguments;
    const last = args.length > 0 ? args[args.length - 1] : undefined;
    const lastValue = last && (last.type === 'SpreadElement' ? last.argument : last);
    const argsPure = args.every((a) => a.type !== 'SpreadElement' && isPure(a));
    if (callee.type !== 'Identifier') this.nameCallbacks(args, calleeName(callee));
    if (callee.type === 'MemberExpression') {
      this.anchors?.push(callee.computed ? callee.object.end : callee.property.start);
      if (this.instrumentable(callee)) {
        const wrappable = Walker.objectWrappable(callee);
        if (lastValue && (!argsPure || !wrappable)) {
          // the method body runs after the arguments: store after the last one
          const k = this.site(this.propertyOffset(callee), callee.computed ? '' : callee.property.name);
          this.visitMember(callee, false);
          this.wrapAfter(lastValue, k);
          this.visitAll(args);
          return;
        }
      }
      this.visitMember(callee, true);
      this.visitAll(args);
      return;
    }
    if (callee.type === 'Identifier') {
      this.anchors?.push(callee.start);
      if (this.calls && this.withDepth === 0 && !GLOBAL_FUNCTIONS.has(callee.name) && !isHelperName(callee.name)) {
        const k = this.site(callee.start, callee.name);
        if (argsPure || !lastValue) this.wrapBefore(callee, k, true, callee.start);
        else this.wrapAfter(lastValue, k);
      }
      this.nameCallbacks(args, callee.name);
      this.visitAll(args);
      return;
    }
    // (f)(), a[b]() without `computed`, f()(): V8 reports such calls at the `(`
    const paren = this.code.indexOf('(', callee.end);
    if (paren >= 0) this.anchors?.push(paren);
    this.visit(callee);
    this.visitAll(args);
  }

  /** `atomic(() => …)` inside `transfer`: the callback is `transfer/<atomic callback>`. */
  private nameCallbacks(args: N[], callee: string | undefined): void {
    if (!callee) return;
    for (const a of args) {
      if ((a.type === 'ArrowFunctionExpression' || a.type === 'FunctionExpression') && !a.id && !this.inferred.has(a)) {
        this.inferred.set(a, this.fn === '<top-level>' ? `<${callee} callback>` : `${this.fn}/<${callee} callback>`);
      }
    }
  }

  private visitAssignment(node: N): void {
    const left: N = node.left;
    const right: N = node.right;
    const dotted = dottedName(left);
    if (dotted !== undefined) this.nameValue(right, dotted);
    if (left.type === 'MemberExpression' && this.instrumentable(left)) {
      const plain = node.operator === '=';
      const rightPure = isPure(right);
      if (plain && !rightPure) {
        // the setter runs after the value: store after it
        const k = this.site(this.propertyOffset(left), left.computed ? '' : left.property.name);
        this.visitMember(left, false);
        this.wrapAfter(right, k);
        this.visit(right);
        return;
      }
      if (!plain && !rightPure) {
        // compound: the getter runs before the value, the setter after it
        const k = this.site(this.propertyOffset(left), left.computed ? '' : left.property.name);
        if (Walker.objectWrappable(left)) this.wrapBefore(left.object, k, isPure(left.object));
        this.visitMember(left, false);
        this.wrapAfter(right, k);
        this.visit(right);
        return;
      }
    }
    this.visit(left);
    this.visit(right);
  }
}

// ---- sites, maps, output ---------------------------------------------------------------

function toFile(urlOrPath: string): string {
  if (urlOrPath.startsWith('file:')) {
    try {
      return fileURLToPath(urlOrPath.split('?')[0].split('#')[0]);
    } catch {
      return urlOrPath;
    }
  }
  return urlOrPath;
}

function defaultReadFile(path: string): string | undefined {
  if (!path.startsWith('/') && !/^[a-zA-Z]:[\\/]/.test(path)) return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

const MAX_TEXT = 160;

/** The trimmed text of a line, shortened around `column` (0-based) if it is long (minified code). */
export function siteText(line: string, column: number): string {
  const t = line.trim();
  if (t.length <= MAX_TEXT) return t;
  const lead = line.length - line.trimStart().length;
  const c = Math.max(0, column - lead);
  const from = Math.max(0, Math.min(c - 60, t.length - MAX_TEXT));
  return (from > 0 ? '…' : '') + t.slice(from, from + MAX_TEXT) + (from + MAX_TEXT < t.length ? '…' : '');
}

/** Column (0-based) of `name` on `line` at or after `col`, as an identifier; `col` if not found. */
function refineColumn(line: string, col: number, name: string): number {
  if (!name || line.startsWith(name, col)) return col;
  let i = line.indexOf(name, col);
  while (i >= 0) {
    const before = line.charCodeAt(i - 1);
    const after = line.charCodeAt(i + name.length);
    if (!isIdentChar(before) && !isIdentChar(after)) return i;
    i = line.indexOf(name, i + 1);
  }
  return col;
}

function isIdentChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 36 || c === 95 || c > 127;
}

class Sources {
  readonly files: string[] = [];
  private readonly index = new Map<string, number>();
  private readonly lines = new Map<number, { text: string; starts: Int32Array; lastLine: number; lastText: string } | null>();
  constructor(private readonly read: (path: string) => string | undefined) {}

  id(file: string, content?: () => string | undefined, starts?: Int32Array): number {
    let i = this.index.get(file);
    if (i === undefined) {
      i = this.files.length;
      this.files.push(file);
      this.index.set(file, i);
      const text = content?.() ?? this.read(file);
      this.lines.set(i, text === undefined ? null : { text, starts: starts ?? lineStarts(text), lastLine: -1, lastText: '' });
    }
    return i;
  }

  /** Line `line0` (0-based) of source `i`, without its terminator. */
  line(i: number, line0: number): string | undefined {
    const src = this.lines.get(i);
    if (!src || line0 < 0 || line0 >= src.starts.length) return undefined;
    // sites come in source order, often several on one line
    if (src.lastLine === line0) return src.lastText;
    const end = line0 + 1 < src.starts.length ? src.starts[line0 + 1] : src.text.length;
    src.lastLine = line0;
    return (src.lastText = src.text.slice(src.starts[line0], end).replace(/(\r\n|[\n\r\u2028\u2029])$/, ''));
  }
}

class Interner {
  readonly list: string[] = [];
  private readonly map = new Map<string, number>();
  id(s: string): number {
    let i = this.map.get(s);
    if (i === undefined) {
      i = this.list.length;
      this.list.push(s);
      this.map.set(s, i);
    }
    return i;
  }
}

function loadInputMap(
  code: string,
  url: string,
  opts: InstrumentOptions,
  read: (p: string) => string | undefined,
  comment: SourceMappingComment | undefined,
): RawSourceMap | undefined {
  if (opts.inputMap === null) return undefined;
  if (opts.inputMap !== undefined) return parseSourceMap(opts.inputMap);
  if (!comment) return undefined;
  const inline = decodeDataUrl(comment.url);
  if (inline !== undefined) return parseSourceMap(inline);
  if (url.startsWith('file:')) {
    const text = read(fileURLToPath(new URL(comment.url, url)));
    if (text !== undefined) return parseSourceMap(text);
  }
  return undefined;
}

function emptySites(url: string): ModuleSites {
  return { url, sources: [], names: [], sites: [] };
}

/** Whether `code` holds only white space from `from` on. */
function isBlank(code: string, from: number): boolean {
  for (let i = from; i < code.length; i++) {
    const c = code.charCodeAt(i);
    if (c !== 32 && c !== 10 && c !== 13 && c !== 9) return false;
  }
  return true;
}

/**
 * Instruments one module. Never throws on bad input: code it cannot parse (or
 * already instrumented, or without any site) comes back unchanged with `skipped`.
 *
 * @param code JavaScript (compile TypeScript first; keep its source map inline or pass `inputMap`)
 * @param url the module's URL as the runtime will see it in stack frames (a `file:` URL for files)
 */
export function instrument(code: string, url: string, opts: InstrumentOptions = {}): InstrumentResult {
  const unchanged = (skipped: string): InstrumentResult => ({ code, map: null, sites: emptySites(url), skipped });
  if (code.includes(PREFIX)) return unchanged('already instrumented (contains __stm$)');
  const read = opts.readFile ?? defaultReadFile;

  // -- input source map ----------------------------------------------------------------
  const oldComment = findSourceMappingComment(code);
  let inputMap: RawSourceMap | undefined;
  try {
    inputMap = loadInputMap(code, url, opts, read, oldComment);
  } catch {
    inputMap = undefined; // unreadable or invalid map: instrument without it
  }
  const base = inputMap ? new SourceMap(inputMap, url) : null;

  // -- parse -------------------------------------------------------------------
  // A trailing sourceMappingURL comment (an inline map is often larger than
  // the code) is cut off before parsing: acorn scans comments a character at a
  // time. If the "comment" was not one (inside a template, a regexp or a block
  // comment), the cut code does not parse, and the whole code is parsed with a
  // comment listener instead.
  let ast: N | undefined;
  let commentIsReal = false;
  const sourceType = opts.sourceType ?? 'unknown';
  if (oldComment && isBlank(code, oldComment.end)) {
    try {
      ast = parseProgram(code.slice(0, oldComment.start), sourceType);
      commentIsReal = true;
    } catch {
      ast = undefined;
    }
  }
  if (!ast) {
    try {
      ast = parseProgram(
        code,
        sourceType,
        oldComment
          ? (start, end) => {
              if (start === oldComment.start && end === oldComment.end) commentIsReal = true;
            }
          : undefined,
      );
    } catch (e) {
      return unchanged(`parse error: ${(e as Error).message}`);
    }
  }

  // -- walk ----------------------------------------------------------------------
  const walker = new Walker(code, opts.computed ?? false, opts.calls ?? true, !base || opts.outputMap === 'edit');
  try {
    walker.visit(ast);
  } catch (e) {
    if (e instanceof RangeError) return unchanged('expression nesting too deep');
    throw e;
  }
  if (walker.sites.length === 0) return unchanged('no sites');
  const prologueAt = (ast.body as N[]).find((s) => !(s.type === 'ExpressionStatement' && typeof s.directive === 'string'))?.start;
  if (prologueAt === undefined) return unchanged('no sites');
  walker.addPrologue(prologueAt);
  // the tree (tens of bytes per byte of code) is garbage from here on: let the
  // young-generation collections the map work triggers drop it, not copy it
  ast = undefined;
  walker.releaseTree();

  // the old sourceMappingURL comment no longer describes the output: drop it
  const lastEdit = walker.edits.reduce((m, e) => Math.max(m, e.offset), 0);
  const dropComment =
    oldComment && oldComment.start >= lastEdit && commentIsReal ? oldComment : undefined;

  // -- output code -------------------------------------------------------------------
  const edits = walker.edits;
  edits.sort((a, b) => a.offset - b.offset || a.prio - b.prio);
  const parts: string[] = [];
  const insertions: Insertion[] = [];
  let pos = 0;
  for (let i = 0; i < edits.length; ) {
    const offset = edits[i].offset;
    let text = '';
    let mapTo: number | undefined;
    for (; i < edits.length && edits[i].offset === offset; i++) {
      text += edits[i].text;
      if (edits[i].mapTo !== undefined) mapTo = edits[i].mapTo;
    }
    parts.push(code.slice(pos, offset), text);
    insertions.push({ offset, length: text.length, mapTo });
    pos = offset;
  }
  if (dropComment) {
    parts.push(code.slice(pos, dropComment.start));
    pos = dropComment.end;
  }
  parts.push(code.slice(pos));

  // -- maps ---------------------------------------------------------------------------
  const starts = lineStarts(code);
  const generatedFile = toFile(url);
  const fileName = generatedFile.split(/[\\/]/).pop();
  let composedMap: RawSourceMap;
  if (base) {
    // the edit map gets a segment wherever the input map has one, so tracing
    // it through the input map (remapping) keeps all of the input map's detail
    const baseAnchors: number[] = [];
    const lines = base.lines;
    for (let l = 0; l < lines.length && l < starts.length; l++) {
      const ls = starts[l];
      for (const seg of lines[l]) baseAnchors.push(ls + seg[0]);
    }
    composedMap = composeEdit(editMappings(starts, insertions, baseAnchors), url, base, fileName, true);
  } else {
    // the original is the module's own URL: tools read it there, no need to embed it
    composedMap = composeEdit(editMappings(starts, insertions, walker.anchors ?? []), url, null, fileName);
  }
  // the registered map leaves sourcesContent out (the sources are on disk):
  // stringify the rest once and append the contents for the full map
  const { sourcesContent, ...bareMap } = composedMap;
  const bareJson = JSON.stringify(bareMap);
  const composedJson = sourcesContent ? `${bareJson.slice(0, -1)},"sourcesContent":${JSON.stringify(sourcesContent)}}` : bareJson;
  const registeredMap = opts.registerMap === false ? undefined : bareJson;
  let outMap = composedJson;
  if (opts.outputMap === 'edit') {
    const edit = base ? editMappings(starts, insertions, walker.anchors ?? []) : null;
    outMap = JSON.stringify({ version: 3, sources: [url], sourcesContent: [code], names: [], mappings: edit ? encodeDecoded(edit) : composedMap.mappings });
  }

  // -- site table ------------------------------------------------------------------------
  const sources = new Sources(read);
  const strings = new Interner();
  const siteTable: number[] = [];
  const genLines = new Map<number, string>();
  const generatedLine = (l: number): string => {
    let s = genLines.get(l);
    if (s === undefined) {
      const end = l + 1 < starts.length ? starts[l + 1] : code.length;
      s = code.slice(starts[l], end).replace(/(\r\n|[\n\r\u2028\u2029])$/, '');
      genLines.set(l, s);
    }
    return s;
  };
  const sourceIds: number[] = [];
  const lineTextIds = new Map<number, number>();
  for (const s of walker.sites) {
    const gl = lineOf(starts, s.offset);
    const gc = s.offset - starts[gl];
    let src = -1;
    let line0 = gl;
    let col = gc;
    if (base) {
      const seg = base.mappedSegmentAtOrBefore(gl, gc);
      if (seg) {
        const si = seg[1]!;
        src = sourceIds[si] ??= sources.id(toFile(base.resolvedSources[si] ?? url), () => base.sourceContent(si));
        line0 = seg[2]!;
        col = seg[3]!;
      }
    }
    let text: string | undefined;
    if (src < 0 && base) {
      // compiler-generated code before any mapped token (e.g. module-format
      // helpers): no original position; name the first source, line 0
      src = sources.id(toFile(base.resolvedSources[0] ?? url));
      line0 = -1;
      col = -1;
    } else if (src < 0) {
      src = sources.id(generatedFile, () => code, starts);
      text = generatedLine(gl);
    } else {
      text = sources.line(src, line0);
      if (text !== undefined) col = refineColumn(text, col, s.name);
    }
    let textId = -1;
    if (text !== undefined) {
      // a short line's text does not depend on the column: intern it once per line
      const short = text.length <= MAX_TEXT;
      const key = src * 2 ** 32 + line0; // exact below 2^21 sources
      const cached = short ? lineTextIds.get(key) : undefined;
      if (cached !== undefined) textId = cached;
      else {
        textId = strings.id(siteText(text, col));
        if (short) lineTextIds.set(key, textId);
      }
    }
    siteTable.push(src, line0 + 1, col + 1, strings.id(s.fn), textId);
  }
  const sites: ModuleSites = { url, sources: sources.files, names: strings.list, sites: siteTable };
  if (registeredMap !== undefined) sites.map = registeredMap;
  if (siteTable.length !== walker.sites.length * SITE_STRIDE) throw new Error('site table stride mismatch');

  // -- trailer ------------------------------------------------------------------------------
  // V8 parses a large JSON.parse('…') faster than the equivalent object
  // literal. The map goes in as a string literal of its own: inside the JSON
  // text it would be escaped twice (the longest string of the trailer).
  const table = JSON.stringify({ url, sources: sites.sources, names: sites.names, sites: sites.sites });
  const value = table.length > 10_000 ? `JSON.parse(${JSON.stringify(table)})` : table;
  const withMap = registeredMap === undefined ? value : `Object.assign(${value},{map:${JSON.stringify(registeredMap)}})`;
  parts.push(`\nfunction __stm$m(){return ${withMap}}${HOISTED}`);
  if (opts.inlineMap) parts.push(`\n${inlineSourceMapComment(composedJson)}\n`);
  return { code: parts.join(''), map: outMap, sites };
}

export { resolveSource };
