/**
 * Enums written in the script (`enum Foo { ONE = 1, TWO, OTHER = 99999 };`,
 * `enum { A, B }`): their enumerators become constants of type `enum Foo`
 * (bpftrace: a 64-bit unsigned integer that prints as the enumerator's name
 * in print(), map keys and values, and printf's %s). Values follow C: a
 * missing value is the previous one plus one; a value is a constant
 * expression of numbers, earlier enumerators, parentheses and C's integer
 * operators.
 */
import type { TypeDef } from './ast';
import type { EnumInfo } from './types';
import { UserError } from '../errors';

export class EnumError extends UserError {
  constructor(message: string, readonly def: TypeDef) {
    super(message);
  }
}

/** The enums of a script: by enum name, and each enumerator with its value and enum. */
export interface ScriptEnums {
  byName: Map<string, EnumInfo>;
  enumerators: Map<string, { value: bigint; info: EnumInfo }>;
}

const CACHE = new WeakMap<readonly TypeDef[], ScriptEnums>();

/** The enum key of a value: its unsigned 64-bit decimal text (how EnumInfo.names is keyed). */
export function enumKey(v: bigint): string {
  return BigInt.asUintN(64, v).toString();
}

/** The script's enums (parsed once per list of definitions); throws EnumError for a definition it cannot read. */
export function scriptEnums(defs: readonly TypeDef[]): ScriptEnums {
  const done = CACHE.get(defs);
  if (done) return done;
  const out: ScriptEnums = { byName: new Map(), enumerators: new Map() };
  let anon = 0;
  for (const def of defs) {
    if (def.tag !== 'enum') continue;
    const info: EnumInfo = { name: def.name || `(anonymous ${++anon})`, names: {} };
    if (def.name) {
      if (out.byName.has(def.name)) throw new EnumError(`enum ${def.name} is defined twice`, def);
      out.byName.set(def.name, info);
    }
    const toks: string[] = def.body.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, ' ').match(/0[xX][0-9a-fA-F]+[uUlL]*|\d+[uUlL]*|\w+|<<|>>|[^\s\w]/g) ?? [];
    const open = toks.indexOf('{');
    const close = toks.lastIndexOf('}');
    if (open < 0 || close < open) throw new EnumError(`cannot read the definition of enum ${info.name}`, def);
    let next = 0n;
    let i = open + 1;
    while (i < close) {
      const name = toks[i++];
      if (!/^[A-Za-z_]\w*$/.test(name)) throw new EnumError(`enum ${info.name}: expected an enumerator name, got '${name}'`, def);
      if (out.enumerators.has(name)) throw new EnumError(`enumerator ${name} is defined twice`, def);
      let value = next;
      if (toks[i] === '=') {
        let j = i + 1;
        let depth = 0;
        while (j < close && !(depth === 0 && toks[j] === ',')) {
          if (toks[j] === '(') depth++;
          else if (toks[j] === ')') depth--;
          j++;
        }
        value = evalConst(toks.slice(i + 1, j), (n) => out.enumerators.get(n)?.value, `enum ${info.name}: the value of ${name}`, def);
        i = j;
      }
      if (i < close && toks[i] !== ',') throw new EnumError(`enum ${info.name}: expected ',' after ${name}, got '${toks[i]}'`, def);
      i++;
      out.enumerators.set(name, { value, info });
      // the first enumerator of a value names it (C allows aliases: `B = A`)
      const k = enumKey(value);
      if (!(k in info.names)) info.names[k] = name;
      next = value + 1n;
    }
  }
  CACHE.set(defs, out);
  return out;
}

/** A C integer constant expression over `toks` (precedence climbing); names resolve through `lookup`. */
function evalConst(toks: string[], lookup: (name: string) => bigint | undefined, what: string, def: TypeDef): bigint {
  let i = 0;
  const fail = (why: string): never => {
    throw new EnumError(`${what} is not a constant expression (${why})`, def);
  };
  const BIN: Record<string, number> = { '|': 1, '^': 2, '&': 3, '<<': 4, '>>': 4, '+': 5, '-': 5, '*': 6, '/': 6, '%': 6 };
  const primary = (): bigint => {
    const t = toks[i++];
    if (t === undefined) return fail('it ends early');
    if (t === '(') {
      const v = expr(0);
      if (toks[i++] !== ')') fail("a ')' is missing");
      return v;
    }
    if (t === '-') return -primary();
    if (t === '+') return primary();
    if (t === '~') return ~primary();
    if (t === '!') return primary() === 0n ? 1n : 0n;
    if (/^(0[xX][0-9a-fA-F]+|\d+)[uUlL]*$/.test(t)) {
      const digits = t.replace(/[uUlL]+$/, '');
      return /^0\d/.test(digits) ? BigInt('0o' + digits.slice(1)) : BigInt(digits);
    }
    if (/^[A-Za-z_]\w*$/.test(t)) return lookup(t) ?? fail(`'${t}' is not an earlier enumerator`);
    return fail(`unexpected '${t}'`);
  };
  const expr = (minPrec: number): bigint => {
    let a = primary();
    for (;;) {
      const op = toks[i];
      const p = op === undefined ? undefined : BIN[op];
      if (p === undefined || p < minPrec) return a;
      i++;
      const b = expr(p + 1);
      switch (op) {
        case '|': a |= b; break;
        case '^': a ^= b; break;
        case '&': a &= b; break;
        case '<<': a <<= b; break;
        case '>>': a >>= b; break;
        case '+': a += b; break;
        case '-': a -= b; break;
        case '*': a *= b; break;
        default:
          if (b === 0n) fail('division by zero');
          a = op === '/' ? a / b : a % b;
      }
    }
  };
  if (!toks.length) fail('it is empty');
  const v = expr(0);
  if (i < toks.length) fail(`unexpected '${toks[i]}'`);
  return v;
}
