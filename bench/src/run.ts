/** Placeholder until the benchmark lands. */
export {};
