/**
 * Builds the protocol's zod schemas at their first use rather than at import, so that a program loading the
 * protocol (the server at start-up, a client, a browser page) pays only for the schemas it touches.
 */
import { z } from 'zod';

/** What a placeholder's prototype proxy knows: the placeholder it stands in for and how to build its schema. */
interface Pending {
  /** Invariant: set once, right after the placeholder is made, and never changed after. */
  placeholder: object;
  /** Invariant: set until the placeholder has become its schema, then cleared (a second build is a bug). */
  build: (() => object) | undefined;
}

/** The zod internals a placeholder takes over from the schema built for it. */
interface Internals {
  readonly constr: unknown;
  readonly def: unknown;
  parent?: unknown;
}

function internalsOf(schema: object): Internals | undefined {
  const internals = (schema as { _zod?: Internals })._zod;
  return typeof internals === 'object' && typeof internals.constr === 'function' ? internals : undefined;
}

/**
 * Turns the placeholder into its schema, in place, so that it keeps its identity: the same object that other
 * schemas, registries and clients already hold. The schema is built, then its zod constructor runs once more
 * on the placeholder with the same definition (what zod's own `clone` does), and its parent and registered
 * metadata (`describe`, `meta`) are carried over, so the placeholder is that schema in every respect.
 */
function materialize(pending: Pending): void {
  const build = pending.build;
  if (build === undefined) throw new Error('A lazy protocol schema was used while it was being built (a cycle).');
  pending.build = undefined;
  const built = build();
  const internals = internalsOf(built);
  if (internals === undefined) throw new Error('A lazy protocol schema did not build a zod schema.');
  const { placeholder } = pending;
  Object.setPrototypeOf(placeholder, Object.getPrototypeOf(built) as object | null);
  Reflect.apply(internals.constr as (def: unknown) => unknown, placeholder, [internals.def]);
  const own = internalsOf(placeholder);
  if (own === undefined) throw new Error('A lazy protocol schema could not take over its zod internals.');
  if (internals.parent !== undefined) own.parent = internals.parent;
  const metadata = z.globalRegistry.get(built as z.ZodType);
  if (metadata !== undefined) z.globalRegistry.add(placeholder as z.ZodType, metadata);
}

/**
 * The prototype of a placeholder that has not been built: any property read, write or `in` test that reaches
 * it (every one does, since a placeholder has no properties of its own) builds the schema first, then answers
 * from the placeholder, which no longer has this proxy in its prototype chain.
 */
const pendingHandler: ProxyHandler<Pending> = {
  get(pending, key) {
    materialize(pending);
    return Reflect.get(pending.placeholder, key) as unknown;
  },
  set(pending, key, value) {
    materialize(pending);
    return Reflect.set(pending.placeholder, key, value);
  },
  has(pending, key) {
    materialize(pending);
    return Reflect.has(pending.placeholder, key);
  },
  // `instanceof` walks the chain through this proxy: it continues from the schema's own prototype.
  getPrototypeOf(pending) {
    materialize(pending);
    return Object.getPrototypeOf(Object.getPrototypeOf(pending.placeholder) as object) as object | null;
  },
};

/**
 * A schema built at its first use: returns an object that becomes, in place, the schema `build` returns,
 * the first time anything reads from it. Its type is that schema's, so declarations keep their exact types.
 * `build` runs at most once; what it refers to may itself be lazy. A call has no effect until then, which the
 * annotation tells bundlers, so that a program bundling the protocol keeps only the schemas it uses.
 */
/* @__NO_SIDE_EFFECTS__ */
export function lazy<T extends object>(build: () => T): T {
  const pending: Pending = { placeholder: {}, build };
  const placeholder = Object.create(new Proxy(pending, pendingHandler)) as T;
  pending.placeholder = placeholder;
  return placeholder;
}
