/**
 * The Prometeu packer protocol: every method the server answers, declared once with its lane and schemas.
 * This package knows nothing of Node, the server or the client.
 */
import { getAssetDetails, listAssets, listQuarantine } from './assets.js';
import { doctor, packSummary } from './doctor.js';
import { eventNotification, events } from './events.js';
import { applyMutation, previewMutation, submissionRefused, submitMutation } from './mutations.js';
import { pack } from './pack.js';
import { closeProject, initWorkspace, openProject, projectStatus, reconcile } from './projects.js';

export * from './assets.js';
export * from './common.js';
export * from './diagnostic-codes.js';
export * from './doctor.js';
export * from './errors.js';
export * from './events.js';
export * from './files.js';
export * from './intents.js';
export { lazy } from './lazy.js';
export * from './lifecycle.js';
export * from './method.js';
export * from './mutations.js';
export * from './pack.js';
export * from './projects.js';

/** Every packer request, by a short name. The server derives its routes from these declarations. */
export const packerRequests = {
  openProject,
  closeProject,
  projectStatus,
  initWorkspace,
  listAssets,
  getAssetDetails,
  listQuarantine,
  doctor,
  packSummary,
  events,
  previewMutation,
  applyMutation,
  reconcile,
  pack,
} as const;

/** Every packer notification, by a short name. */
export const packerNotifications = {
  event: eventNotification,
  submitMutation,
  submissionRefused,
} as const;

/** The short names of the packer requests. */
export type PackerRequestName = keyof typeof packerRequests;
/** The short names of the packer notifications. */
export type PackerNotificationName = keyof typeof packerNotifications;
