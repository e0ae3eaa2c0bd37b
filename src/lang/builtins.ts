/**
 * The registry of builtin variables and functions. Each is one definition
 * (vars.ts, output.ts, strings.ts, values.ts) that every stage reads: the
 * parser asks isBuiltinName(), the checker runs `check`, the code generator
 * the lowering. No other list of names exists.
 */
import type { BuiltinVarDef, FunctionDef, NamedValueTypeDef } from './feature';
import { BUILTIN_VARS } from './builtins/vars';
import { OUTPUT_FUNCTIONS } from './builtins/output';
import { STRING_FUNCTIONS } from './builtins/strings';
import { VALUE_FUNCTIONS, VALUE_TYPES } from './builtins/values';
import { BYTE_FUNCTIONS } from './builtins/bytes';

function byName<T extends object>(...tables: Record<string, T>[]): Map<string, T> {
  const m = new Map<string, T>();
  for (const table of tables) {
    for (const [key, def] of Object.entries(table)) {
      for (const name of (def as { names?: readonly string[] }).names ?? [key]) {
        if (m.has(name)) throw new Error(`builtin ${name} is defined twice`);
        m.set(name, def);
      }
    }
  }
  return m;
}

const VARS = byName<BuiltinVarDef>(BUILTIN_VARS);
const FUNCS = byName<FunctionDef>(OUTPUT_FUNCTIONS, STRING_FUNCTIONS, VALUE_FUNCTIONS, BYTE_FUNCTIONS);
const NAMED_TYPES = byName<NamedValueTypeDef>(VALUE_TYPES);

/** Whether a bare name (not followed by a call) parses as a builtin variable. */
export function isBuiltinName(name: string): boolean {
  return VARS.has(name);
}

export function builtinVar(name: string): BuiltinVarDef | undefined {
  return VARS.get(name);
}

export function functionDef(name: string): FunctionDef | undefined {
  return FUNCS.get(name);
}

/** Every builtin variable name (for "did you mean" hints and tests). */
export function builtinNames(): string[] {
  return [...VARS.keys()];
}

/** The definition of a named value type (Type 'named'); throws for a name no definition file registers. */
export function namedValueType(name: string): NamedValueTypeDef {
  const d = NAMED_TYPES.get(name);
  if (!d) throw new Error(`no value type named ${name}`);
  return d;
}

export function namedValueTypeNames(): string[] {
  return [...NAMED_TYPES.keys()];
}

export function functionNames(): string[] {
  return [...FUNCS.keys()];
}
