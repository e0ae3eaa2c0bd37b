/**
 * bpftrace-compatible output formatting: values, maps, histograms, printf,
 * strftime and JSON. Pure functions, no kernel access.
 */
export * from './hist';
export * from './maps';
export * from './printf';
export * from './strftime';
export * from './json';
export * from './output';
