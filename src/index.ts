/**
 * tsbpf as a library.
 *
 * The language:
 *   import { compile, runScript } from 'tsbpf';
 *   const artifact = compile({ name: 'example', text: 'tracepoint:syscalls:sys_enter_getppid { @ = count(); }' }, {});
 *   await runScript(artifact, { cmd: 'sleep 1' });
 *
 * The eBPF library, without the language:
 *   import { Asm, R0, R1, Helper, BpfMap, loadProgram, attachTracepoint } from 'tsbpf';
 */
export { compile, type CompileOptions } from './lang/compile';
export { parse } from './lang/parser';
export { CompileError } from './lang/diagnostics';
export type { ScriptArtifact } from './lang/artifact';
export { runScript, ScriptRuntime, type RunOptions } from './runtime/run';
export * as format from './runtime/format';
export * as values from './runtime/values';
export { exporter, Exporter } from './export/exporter';
export type { ExporterOptions, ScriptSource, MapOptions } from './export/config';
export { renderFlameGraph, foldedFromCounts, parseFolded, type FlameGraphOptions } from './runtime/flamegraph';

export * from './ebpf/asm';
export { BpfMap, u32, u64, sumU64, numPossibleCpus } from './ebpf/maps';
export { loadProgram, testRun, Program, VerifierError } from './ebpf/programs';
export * from './ebpf/attach';
export { RingBufReader, PerfBufReader } from './ebpf/events';
export { closeAll, track } from './ebpf/cleanup';
export { MapType, ProgType } from './sys/bpf';
export { PerfType, SwEvent, HwEvent } from './sys/perf';
export * as elf from './ebpf/elf';
export * as usdt from './usdt';
export * as btf from './ebpf/btf';
export * as symbolize from './ebpf/symbolize';
export * as ldcache from './ebpf/ldcache';
export { MissingFeatureError, hasFeature, requireFeature, featureReport } from './sys/features';
export { SyscallError } from './sys/errno';
