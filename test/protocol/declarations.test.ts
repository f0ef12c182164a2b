/**
 * Checks that tie the protocol declarations to the server's dispatch table.
 */
import { packerRequests, type PackerRequestName } from '@prometeu/packer-protocol';
import { describe, expect, it } from 'vitest';
import { routes } from '../../server/src/transport/dispatch.js';

describe('protocol declarations', () => {
  it('every declared request has a route, and the route runs in the lane the declaration names', () => {
    for (const name of Object.keys(packerRequests) as PackerRequestName[]) {
      expect(routes[name], name).toBeDefined();
      expect(routes[name].lane, name).toBe(packerRequests[name].lane);
    }
    expect(Object.keys(routes).sort()).toEqual(Object.keys(packerRequests).sort());
  });

  it('method strings are unique and all in the packer/ namespace', () => {
    const methods = Object.values(packerRequests).map((declaration) => declaration.method);
    expect(new Set(methods).size).toBe(methods.length);
    for (const method of methods) expect(method).toMatch(/^packer\/[a-z][A-Za-z]+$/);
  });
});
