/** Placeholder until the generator lands. */
export {};
