/**
 * The Studio adapter: Studio's side of the packer boundary. View models are pure functions of packer
 * responses and events (`reduce(state, message)`); every figure names the packer field it came from.
 * Environment-neutral: no DOM, no Node.
 */
export { initialState, reduce, reduceAll, diagnosticView, hasSeen, operationView } from './reducer.js';
export {
  eventMessage,
  requestMessage,
  responseMessage,
  type ConnectionMessage,
  type DismissPreviewMessage,
  type ErrorMessage,
  type EventMessage,
  type RequestMessage,
  type RequestName,
  type ResponseMessage,
  type ResponseOf,
  type ResyncMessage,
  type SelectMessage,
  type StudioMessage,
} from './messages.js';
export { figure, readPath, type Figure, type FigureSource } from './figures.js';
export { FOLDER_CHUNK, ROOT_READ_LIMIT, navigatorReads } from './navigator.js';
export { applyParamsFor, needsConsent, previewParamsFor } from './actions.js';
export { formatBytes, formatProgress, progressFraction, shortHash } from './format.js';
export type {
  AssetRow,
  ConnectionView,
  DetailsView,
  DiagnosticView,
  DivergedPath,
  DivergenceView,
  FolderChunks,
  FolderGroup,
  NavigatorSource,
  NavigatorView,
  OperationRecord,
  OperationStatus,
  OperationView,
  OutcomeView,
  PackView,
  PreviewCard,
  PreviewStatus,
  ProgressView,
  ProjectView,
  StudioState,
} from './views.js';
