/** Placeholder until the client lands. */
export {};
