/**
 * The server as a library, for embedding it in-process (tests, benchmarks, tools). Clients talk to it over
 * a transport; they never import this.
 */
export { PackerHost, projectIdOf, type HostOptions } from './host.js';
export { serveConnection, type ConnectionOptions, type ServedConnection } from './transport/connection.js';
export { serverScriptPath } from './server-script.js';
