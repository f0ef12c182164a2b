/**
 * A type test, compiled by `npm run typecheck` and never run: only the writer lane can commit, reload or
 * recover. Each `@ts-expect-error` marks an attempt from outside the lane; if one ever compiles, the
 * directive itself becomes an error and the typecheck fails.
 */
/* eslint-disable @typescript-eslint/no-unsafe-call -- each call below is one the compiler must refuse. */
import type { MutationPlan } from '../../server/src/mutations/plan.js';
import { Project } from '../../server/src/project/project.js';
import { WriterLane, type WriteScope } from '../../server/src/project/writer-lane.js';
import type { ProjectReadView, PreparedWrite } from '../../server/src/dispatch/context.js';

export function attemptsFromOutsideTheLane(
  project: Project,
  plan: MutationPlan,
  view: ProjectReadView,
  prepared: PreparedWrite<unknown>,
): void {
  // @ts-expect-error A project has no public commit: only a write scope commits.
  void project.commit(plan, 'op-outside');
  // @ts-expect-error A project has no public reload.
  project.reload('reconcile', 'op-outside');
  // @ts-expect-error A project has no public journal recovery.
  void project.recoverInterruptedWrite('op-outside');
  // @ts-expect-error Nobody but the lane can ask a project for a write scope.
  project.scopeFor('op-outside');
  // @ts-expect-error Nor can anyone ask the lane for one.
  project.lane.openScope('op-outside');
  // @ts-expect-error The published snapshot cannot be replaced from outside.
  project.current = project.snapshot();
  // @ts-expect-error The recovery report is a getter only.
  project.lastRecovery = null;
  // @ts-expect-error The read view has no preview store to change, only a way to remember one preview.
  void view.previews;
  // @ts-expect-error A prepared write carries no project into the transport.
  void prepared.project;
}

/** A scope is only ever received: the lane hands one to the operation's `run`. */
export function insideTheLane(lane: WriterLane): void {
  void lane.enqueue({
    operationId: 'op-inside',
    operation: 'example',
    operationClass: 'registry',
    async run(_context, scope: WriteScope) {
      await scope.recoverInterruptedWrite();
      return { status: 'cancelled' };
    },
  });
}
