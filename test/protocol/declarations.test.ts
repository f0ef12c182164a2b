/**
 * Checks that tie the protocol declarations to the server's routes, which are derived from them.
 */
import { packerNotifications, packerRequests, type PackerRequestName } from '@prometeu/packer-protocol';
import { describe, expect, it } from 'vitest';
import { createRoutes, packerRequestRoutes, type LifecycleHandlers } from '../../server/src/dispatch/routes.js';

const unusedLifecycle: LifecycleHandlers = {
  initialize: () => Promise.reject(new Error('not used')),
  shutdown: () => Promise.resolve(null),
  initialized: () => undefined,
  exit: () => undefined,
  setTrace: () => undefined,
  cancelProgress: () => undefined,
};

describe('protocol declarations', () => {
  it('every declared request has a route, and the route runs in the lane the declaration names', () => {
    for (const name of Object.keys(packerRequests) as PackerRequestName[]) {
      expect(packerRequestRoutes[name], name).toBeDefined();
      expect(packerRequestRoutes[name].method, name).toBe(packerRequests[name].method);
      expect(packerRequestRoutes[name].lane, name).toBe(packerRequests[name].lane);
    }
    expect(Object.keys(packerRequestRoutes).sort()).toEqual(Object.keys(packerRequests).sort());
  });

  it('one table routes the LSP lifecycle, every packer request and every notification a client may send', () => {
    const routes = createRoutes(unusedLifecycle);
    for (const method of [
      'initialize',
      'shutdown',
      'initialized',
      'exit',
      '$/setTrace',
      'window/workDoneProgress/cancel',
    ])
      expect(routes.get(method)?.lane, method).toBe('lifecycle');
    for (const declaration of Object.values(packerRequests))
      expect(routes.get(declaration.method)?.kind, declaration.method).toBe('request');
    for (const declaration of Object.values(packerNotifications)) {
      const route = routes.get(declaration.method);
      if (declaration.direction === 'clientToServer') {
        expect(route?.kind, declaration.method).toBe('notification');
        expect(route?.lane, declaration.method).toBe(declaration.lane);
      } else expect(route, declaration.method).toBeUndefined();
    }
  });

  it('only the status and the event replay are answered while a project is failed', () => {
    const answered = Object.values(packerRequests)
      .filter((declaration) => declaration.answeredWhileFailed)
      .map((declaration) => declaration.method)
      .sort();
    expect(answered).toEqual(['packer/events', 'packer/projectStatus']);
  });

  it('method strings are unique and all in the packer/ namespace', () => {
    const methods = Object.values(packerRequests).map((declaration) => declaration.method);
    expect(new Set(methods).size).toBe(methods.length);
    for (const method of methods) expect(method).toMatch(/^packer\/[a-z][A-Za-z]+$/);
  });
});
