/**
 * The hand-written part of the protocol reference: rules that schemas cannot say. Kept next to the
 * generator so that the reference stays one generated file.
 */
export const PROTOCOL_PROSE = `
# Prometeu packer protocol reference

This is the exact wire contract of \`packer-server\`. The shapes below are generated from the zod
schemas in \`protocol/src\`; the rules in this first part are the ones schemas cannot express.
\`shared/design/protocol.md\` is the design this implements; where they differ, this file is what the
server does.

## Transport

- JSON-RPC 2.0 with LSP base framing (\`Content-Length: N\\r\\n\\r\\n\` then N bytes of UTF-8 JSON) over the
  stdin and stdout of \`packer-server --stdio\`. stdout carries frames and nothing else; the server logs to
  stderr and, once initialized, with \`window/logMessage\`.
- A frame whose body is not JSON is answered with \`-32700\` (id \`null\`). JSON that is not a JSON-RPC 2.0
  message (missing \`"jsonrpc": "2.0"\`, a batch array, a non-string \`method\`, params that are not an
  object or array) is answered with \`-32600\`, with the message's id when it had a usable one. The server
  keeps serving after both.
- Wire field names are camelCase. Files on disk (\`asset.json\`, \`index.json\`) keep snake_case keys.

## Framing and limits

The server reads LSP base framing itself, in one pass over the input, so that no input can make it stop
answering, hold unbounded memory or spend more than linear time.

- A frame is a header block of ASCII lines \`Name: value\` each ending \`\\r\\n\`, then an empty line, then the
  body. \`Content-Length\` is required, exactly once, as decimal digits (no sign, no fraction, no
  exponent). \`Content-Type\` is optional; when it names a \`charset\`, it must be \`utf-8\`. Header names are
  case-insensitive; other headers are ignored.
- **Malformed header** (no \`Content-Length\`, two of them, a bad value, a bare \`\\n\`, bytes that cannot
  start a header such as unframed JSON, an unsupported charset, a header block over the limit): answered
  once with \`-32700\`, id \`null\`, naming the problem. The server then skips input up to the next
  \`Content-Length:\` (in any letter case) and reads a header from there; frames in between are lost. A
  \`Content-Length\` larger than its body takes the start of what follows as its body: the frames it cuts
  into are lost (answered \`-32700\`), the ones after them are served.
- **Input that cannot be resynchronised**: when more than the resynchronisation limit of input passes
  without a header the server can read, it logs why on stderr and exits with code 1. A client restarts a
  server that exits; it can do nothing with one that hangs.
- **Frame over the size limit**: answered \`-32600\`, id \`null\` (the request was not read, so its id is
  unknown), naming the limit. Its body is skipped as it arrives, never buffered.
- **Body not UTF-8 or not JSON**: \`-32700\`, id \`null\`; the next frame is read normally.
- **JSON that is not a JSON-RPC 2.0 message**: \`-32600\`. This covers a request whose \`id\` is \`null\` (a
  call without an answer is a notification: leave \`id\` out), an \`id\` that is neither a string nor an
  integer, a missing, empty or non-string \`method\`, \`jsonrpc\` other than \`"2.0"\`, and batches. The
  answer carries the message's \`id\` when it is a string or an integer, else \`null\`.
- **Nesting over the depth limit** (arrays and objects; the message object is level 1, \`params\` level 2):
  a request is answered \`-32600\` with its id, naming the limit, before any handler sees it; a
  notification or response is dropped with a line in the server log.
- **Outbound**: no message the server sends can fail to serialise. Nesting is bounded before
  serialising; a response whose result nests too deep, holds a cycle or a value JSON cannot represent is
  answered \`-32603\` naming why instead (an error response loses only its \`data\`); such a notification is
  dropped with a line in the server log.
- End of input in the middle of a frame counts as closing stdin (\`exit\`: code 0 after \`shutdown\`, else 1).

| limit | value | why |
| --- | --- | --- |
| frame body | 64 MiB (67108864 bytes) | The largest legitimate request is a few kilobytes; four orders of magnitude of headroom, while one client can make the server hold at most this much for a frame. |
| header block | 8 KiB (8192 bytes) | Real headers are under 100 bytes; the same bound the client applies to the server's output. |
| input without a header | 1 MiB (1048576 bytes) | Far more than any broken frame leaves behind; past it the stream is not LSP. |
| request nesting | 64 levels | The deepest legitimate requests (a \`createAsset\` declaration, LSP \`initialize\` capabilities) need under 10 levels; free-form \`codec_options\`, \`build\` and \`initializationOptions\` keep about 55. |
| response nesting | 128 levels | Responses and events wrap what requests and files carry; twice the request limit, far below what would overflow a recursive serialiser. |

## Lifecycle (LSP 3.17)

- Before \`initialize\`: every request is answered \`-32002\`; notifications are dropped, except \`exit\`.
- \`initialize\` may be sent once; a second one is answered \`-32600\`. Its params are checked (\`-32602\`
  with the schema issues). Each \`workspaceFolders\` entry is opened as a project; the result's
  \`projects\` lists them in order, each with its \`projectId\` or with the \`error\` that kept it closed.
  \`capabilities.experimental.packer\` names the protocol version and every method the server answers.
- Events (\`packer/event\`) flow to a connection only after its \`initialize\` has been answered; the
  events of opening the workspace folders stay replayable with \`packer/events\`.
- \`shutdown\` waits until every project's writer lane is idle, then answers \`null\`. After it, every
  request is answered \`-32600\`.
- \`exit\` ends the process with code 0 after \`shutdown\`, else 1. Closing stdin counts as \`exit\`.
- When \`initialize\` named a \`processId\`, the server checks that process every 2 seconds and exits
  (code 1) when it is gone.
- \`$/setTrace\` (\`off\`, \`messages\`, \`verbose\`; initial value from \`initialize.trace\`): when not
  \`off\`, the server sends \`$/logTrace\` after each request with its duration, and with \`verbose\`
  the request params.

## Projects

A project is a folder holding \`assets/\`. Its \`projectId\` is derived from the folder's canonical path,
so opening the same folder again (by any path or URI that resolves to it) returns the same id, in this
and in later server runs. Several projects may be open at once; each has its own snapshot, revision,
writer lane and event sequence.

**Loading.** From the moment an open (\`initialize\` for its workspace folders, \`packer/openProject\`,
\`packer/initWorkspace\` by \`rootUri\`) has checked the folder until its first snapshot is published, the
project is known under its \`projectId\` in state \`loading\`: its first event,
\`project.stateChanged\` (\`state: "loading"\`, \`previousState: null\`, \`revision: 0\`), is sent to
every connection already initialized, so even the client whose \`openProject\` is still pending learns
the id (a connection whose own \`initialize\` opens the project gets events only after that answer, and
replays this one with \`packer/events\`).
Meanwhile the crawl runs on a thread of its own (an open at the very start of the process, before that
thread runs, crawls inline) and the declarations are parsed in chunks, so the server keeps answering. On a loading project:

- \`packer/projectStatus\` and \`packer/events\` answer at once: \`state: "loading"\`, \`revision: 0\`,
  every count 0, \`workspaceInitialized\` as on disk, watching \`off\`.
- Every other read waits for the first snapshot and is answered from it (revision 1 or later); a read
  cancelled while it waits is answered \`-32800\`. No read ever sees a snapshot that was not published.
- Writes are queued (\`operation.queued\`) and start only after the first snapshot, in arrival order.
- \`openProject\` (and \`initialize\`) answer once the first snapshot is published, with its status, as
  before; opening a loading folder again joins its load.
- The load ends with \`snapshot.published\` (\`cause: "open"\` or \`"recovery"\`) and then
  \`project.stateChanged\` to the state that follows (\`ready\`, or \`diverged\`). A load that fails
  (the folder cannot be listed) ends with \`project.stateChanged\` to \`failed\` with a \`failure\`; the
  project is then forgotten (its id answers \`UnknownProject\`) and the open is answered with the error.

\`project.stateChanged\` is also sent when a reload (reconcile, recovery) makes the project \`failed\`
and when a later one ends that. Reloads inside the writer lane never make a project \`loading\`: reads
keep being answered from the current snapshot until the next one is published. Divergence is announced
by \`divergence.detected\` and ends with a reconcile's \`snapshot.published\`.

## Lanes

Every request has one lane, written next to it below:

- **read**: answered from the project's current snapshot, pinned once when the request starts, so the
  whole answer belongs to one published revision (its \`revision\` field says which). Reads never wait
  for the writer. A read cancelled with \`$/cancelRequest\` before it answers is answered \`-32800\`.
- **write**: queued in the project's single writer lane, in arrival order across all connections, and
  answered with its final outcome once it ended (never "accepted"). A write's response carries its
  \`operationId\` (the client's, or one the server made up) and, when state changed, the new
  \`revision\`. A write cancelled while queued never starts, gets an \`operation.cancelled\` event with
  \`started: false\`, and is answered \`-32800\`.
- **server**: opens or closes projects; touches no project files. \`packer/closeProject\` waits for the
  project's lane to drain.

**Order on one connection.** Writes are taken from the input in arrival order, among themselves and relative
to every message that is not a read request (lifecycle, server-lane requests, every notification including
text sync and \`packer/submitMutation\`, responses). A read request may be answered ahead of write requests
that arrived before it and had not yet been taken from the input, never ahead of anything else: a read sent
after an \`openProject\`, \`closeProject\`, \`shutdown\` or \`didChange\` is served after it. Such a read
answers from the revision published when it is served, as it could have had it arrived a moment earlier; a
read that must see a write's result waits for that write's answer. A \`$/cancelRequest\` for a write still
waiting in the input cancels it before it starts, as for a write queued in the lane.

## Errors

Errors carry a \`code\`, a \`message\` a person can act on, and, for \`-32602\` and every packer code, a
typed \`data\` object. \`-32602\` data is \`{ method, issues: [{ code, path, message }] }\` with the zod
issues (at most 50). Packer codes live in 1000–1999, outside the ranges JSON-RPC and LSP reserve; their
\`data\` shapes are listed at the end. An unexpected failure is \`-32603\` and is logged to stderr with
its stack; cancellation is never logged as a failure.

## Paths

Every path in a request is a POSIX path relative to \`assets/\` (or, for declared inputs, to the asset
root). Absolute paths, \`..\` segments, empty segments, backslashes, NUL characters and paths into
\`assets/.prometeu/\` are refused with \`PathOutsideProject\` (1005) and \`data.reason\` saying which rule.
The crawl never follows symbolic links, so nothing outside \`assets/\` is ever read through one.

## Events

\`packer/event\` is sent to every initialized connection for every open project. Envelope: \`projectId\`,
\`epoch\` (a new value each server run), \`sequence\` (per project, consecutive from 1 within the epoch),
\`operationId\` (absent for events no operation caused), \`time\`, \`kind\`, \`body\`.

- Each write produces \`operation.queued\`, \`operation.started\`, any \`operation.progress\`, and exactly
  one terminal event (\`operation.succeeded\`, \`operation.failed\` or \`operation.cancelled\`), which is
  the last event of that operation. A write cancelled while queued produces \`queued\` then
  \`cancelled\` only.
- An \`operationId\` names one operation per project: a write whose client-chosen id is queued, running
  or still in the retained log is refused with \`OperationIdInUse\` (1011) before anything is queued (a
  submission gets \`packer/submissionRefused\` with that code); the server's own ids never take one.
- The terminal event of a write is sent before the write's response, and its \`body.outcome\` is the
  response's result (for a failed write answered with an error, \`body.error\` has the same code,
  message and data).
- \`snapshot.published\` (\`revision\`, \`previousRevision\`, \`cause\`, \`assets\`) follows every new
  revision; a write's own publication carries its \`operationId\` and comes before its terminal event.
  \`assets\` lists the roots added, removed, changed and moved since \`previousRevision\` (with
  \`assetUuid\` and \`assetId\` where known), so a client refetches only those; the first snapshot of a
  project has none. When any asset's diagnostics changed, \`diagnostics.changed\` follows it at once
  (each such asset with its previous and new worst severity).
- \`packer/events\` replays the retained events (the newest 50,000 to 100,000 per project) after a
  sequence, optionally for one \`operationId\`; the same arguments give the same events in the same order.
  \`dropped: true\` says events after \`afterSequence\` are no longer retained; an \`epoch\` other than the
  current one is an \`EpochMismatch\` error: the client must resynchronise from reads.
- When a write carries a \`workDoneToken\`, LSP \`$/progress\` mirrors it: \`begin\` when it starts,
  \`report\` for each progress event, \`end\` with the terminal kind; nothing for a write cancelled while
  queued or refused. \`cancellable\` is true only for a pack, until it starts promoting \`build/\` (a
  \`report\` then says \`cancellable: false\`); every other write commits in one step once started.
  \`window/workDoneProgress/cancel\` with a running request's token cancels it like \`$/cancelRequest\`.
- Work the server starts itself (the verification pass when a project starts watching, auto-reconcile)
  is shown to a client that announced \`capabilities.window.workDoneProgress\`: the server creates a
  token with \`window/workDoneProgress/create\` and sends \`begin\` (never cancellable) once the client
  accepted it, then \`end\`; a refused token gets nothing.

## Mutations: preview, then apply

- \`packer/previewMutation\` plans an intent against the current snapshot and changes nothing. It answers
  the operation class, blockers, warnings, safe fixes on offer, registry changes, filesystem changes (with
  paths), affected assets and \`requiresConsent\`, and keeps the plan under \`previewId\` (the newest 1,000
  previews per project are kept).
- \`packer/applyMutation\` (or the \`packer/submitMutation\` notification, same params plus a required
  \`operationId\`) runs in the writer lane. Inside the lane it plans the mutation again against the current
  snapshot and compares: if the preview's changes would differ, the apply is **rejected** with
  \`stalePreview\` (and the current plan in \`preview\`); \`expectedRevision\` other than the current
  revision is \`staleRevision\`; a blocker is \`blocked\`; a destructive or relocating mutation (remove,
  quarantine, restore, relocate of files) without \`consent: true\` is \`consentRequired\`; a change on
  disk since the snapshot (found just before writing) is \`diskChanged\`. A rejection is a result with
  \`outcome: "rejected"\` and \`reasons\`, ended by an \`operation.failed\` event carrying the same body;
  nothing was touched. An applied mutation answers \`outcome: "applied"\` with the new \`revision\`.
- **Divergence rule:** an apply is rejected with \`diverged\` when any path it depends on (the roots it
  affects, every path it creates, moves or deletes, and \`.prometeu/index.json\` when it changes the
  registry) lies within, or contains, a path that changed on disk outside the packer and has not been
  reconciled. Mutations that touch nothing diverged are applied normally.
- Commits are durable before they are visible: single-file changes are one atomic write; multi-file ones
  are journaled in \`assets/.prometeu/journal.json\` and, after a crash, finished (or undone if the disk
  changed meanwhile) when the project next opens; \`projectStatus.lastRecovery\` says what was done and a
  \`snapshot.published\` event with cause \`recovery\` announces it.
- A submission that cannot be attributed to a project (unknown \`projectId\`, params that do not parse)
  is reported with \`window/logMessage\` (type 1) naming its \`operationId\`.

## One writer per project

The first write of a server process takes \`assets/.prometeu/writer.lock\`. While another live packer
process holds it, this one keeps answering reads but every write fails with \`WriterUnavailable\` (1008,
\`data.holderPid\`) after its \`operation.started\` event, ended by \`operation.failed\`. A lock whose process
is gone is taken over. \`projectStatus.writer\` says \`owned\`, \`heldByOther\` or \`available\`.

## Watching and divergence

Each project's \`assets/\` is watched (with @parcel/watcher, or chokidar where its native module cannot load). External
changes are classified after a settle window of 150 ms, once the writer lane is idle, against the current
snapshot: \`added\`, \`changed\`, \`removed\`, or \`moved\` (a root found elsewhere with the same
\`asset_uuid\`). They become state: \`projectStatus.state\` is \`diverged\`, \`divergence\` lists the paths,
and a \`divergence.detected\` event (no \`operationId\`) lists what is new; reads keep answering from the
last revision. Changes made while no packer ran are found on open and reported with \`between: true\`.
\`packer/reconcile\` accepts the disk into a new revision and answers the diff; it never edits the
registry: a registered root that vanished is a \`missing-anchor\` diagnostic (safe fix: forget), or, when an
unregistered root carries its \`asset_uuid\`, a \`root-moved\` diagnostic naming both places, whose safe fix
relocates the entry. That move is found from the snapshot alone, so it is reported on open even when no
earlier run left fingerprints; a move the watcher sees, or one found on open against saved fingerprints, is
one \`moved\` change with \`from\` and \`assetUuid\` rather than files added and removed. With \`autoReconcile\` (at \`initialize\` in
\`initializationOptions\`, or per project in \`openProject\`) the server queues the reconcile itself, with
its own events. \`watching.state\` is \`starting\` until the disk has been verified, then \`watching\`; a
watcher failure makes it \`degraded\` (with a \`watch.stateChanged\` event and the reason) and the disk
is then verified every few seconds; each of those passes also tries to start the watcher again, and when
it starts (\`assets/\` is back, a watch limit was raised) watching returns to \`watching\` with another
\`watch.stateChanged\` event. A file written while watching is \`starting\`, before the fingerprint pass
reached it, is reported as \`changed\` (its modification time is after the start), so the startup
window hides nothing but a write within one clock tick of the start.

## Pack

\`packer/pack\` runs in the writer lane on the snapshot current when it starts: it re-validates every asset
of the build set, reads each input once (failing with \`outcome: "failed"\` and \`divergedPaths\` if it no
longer matches the snapshot), materialises, and only then stages and promotes \`build/\`. A blocked pack
answers \`outcome: "blocked"\` with every blocker. Either way \`build/\` is untouched. Progress is one
\`operation.progress\` per asset; a \`$/cancelRequest\` stops it at the next asset (\`-32800\`,
\`operation.cancelled\`) and leaves \`build/\` as it was. Reads are answered while it runs. The file
format is in \`docs/formats.md\`.

## Limits and write failures

Limits are rules checked before anything is touched; a mutation that would break one is a preview
blocker with a stable code (an apply of it is \`rejected\` with the same issue), never an exception:

| Limit | Value | Blocker (previews) / diagnostic (files) |
| --- | --- | --- |
| One path component | 255 bytes of UTF-8 | \`nameTooLong\`; a read names it \`PathOutsideProject\` with reason \`component-too-long\` |
| A path relative to \`assets/\` (also every file a relocate or quarantine would move) | 1024 bytes of UTF-8 | \`pathTooLong\`; reason \`path-too-long\` |
| Characters in a name | no control characters (U+0000–U+001F, U+007F–U+009F), no backslash | \`invalidName\`; reason \`invalid-character\` |
| Nesting of arrays and objects in \`asset.json\`, \`index.json\` and a \`createAsset\` declaration | 64 levels | \`declarationTooDeep\`; the diagnostic \`json-too-deep\` for a file |
| \`asset_id\` and \`next_asset_id\` | at most \`Number.MAX_SAFE_INTEGER\` | \`idSpaceExhausted\` when a register, adopt or createAsset would allocate past it |
| A \`createAsset\` declaration | carries no \`asset_uuid\` (the server allocates it) | \`draftCarriesUuid\` |
| A quarantine manifest | \`asset_uuid\` a lowercase UUID, \`root\` a path inside \`assets/\`, \`asset_id\` null or a positive safe integer | \`invalidQuarantineManifest\` (restore with an explicit \`to\` when only the root is wrong) |

A write that fails with an I/O error (a full or read-only disk, a name the file system refuses, a
permission, a folder that vanished) is rolled back inside the same request, in reverse order, and its
journal removed; the answer is the error \`WriteFailed\` (1010) with \`data\`: \`errno\` (for example
\`ENOSPC\`, \`EROFS\`, \`ENAMETOOLONG\`, \`EACCES\`, \`ENOENT\`, or a refusal of the packer's confined
file system such as \`ELOOP\` or \`EOUTSIDE\`: every code is in "I/O error codes" below), \`path\` (relative
to the project root), \`step\` (\`journal\`, \`action-<n>\`, \`registry\`, \`writer-lock\`, \`recovery\`,
\`stage\` or \`promote\` for a pack),
\`rolledBack\` (what was undone) and \`restored\` (true: the disk is exactly as before). Only when undoing
fails too is \`restored\` false; the journal then stays and the next write or open finishes the rollback.
A journal that can be neither replayed nor rolled back on open is moved to
\`assets/.prometeu/journal-unrecoverable-<time>.json\` and reported by the \`journal-unrecoverable\`
diagnostic and the status's \`lastRecovery\` (\`outcome: "failed"\`); later writes work; delete the file
once the folders it names are checked. \`initWorkspace\` on a valid workspace and a \`reconcile\` with no
journal to finish do not take the writer lock, so they answer on a read-only project; a write there
answers \`WriteFailed\` with \`EROFS\`.

A journal the disk does not let the packer finish (read-only, full, over quota, no permission: \`EROFS\`,
\`ENOSPC\`, \`EDQUOT\`, \`EACCES\`, \`EPERM\`) is not moved aside: the project opens with
\`lastRecovery.outcome: "pending"\`, reads are served from what the disk shows, and the project-wide
diagnostic \`journal-pending\` (blocking) says that the disk may be between before and after that write,
so \`packSummary\` says \`canPack: false\` and a pack is \`blocked\`. Every write answers \`WriteFailed\`
(\`EROFS\` at step \`writer-lock\` on a read-only disk; step \`recovery\` when the lock can be taken but
the journal still cannot be finished), and so does a \`reconcile\`, which must finish the journal first.
Once the disk is writable, the next write (which then answers \`rejected\`, \`diskChanged\`: it was
planned before the journal was finished), reconcile or open finishes it.

A pack writes the new \`build/\` whole into \`.build-next-<id>/\` beside it, moves the old one to
\`.build-previous-<id>/\`, renames the new one to \`build/\` and removes the old one: \`build/\` is at every
instant the old pack, the new one, or (between the two renames) absent, never a mix. The next pack first
recovers an interrupted promotion: without \`build/\`, the old pack is put back; leftover \`.build-*\`
folders are removed. Other files a user keeps in \`build/\` are carried over.

## Slow consumers

Every message to a connection goes through one queue in order. Only while the client does not keep up
(the pipe is full) may queued \`operation.progress\` events of one operation be merged: the newest keeps
its sequence and says in \`body.merged\` how many it replaced. No other event is ever merged or dropped,
so a live connection skips sequence numbers only where progress was merged; \`packer/events\` has them all.

## Diagnostics and blocking

\`packer/doctor\` with scope \`registered\` returns the registry's own problems and the diagnostics of
registered assets; scope \`workspace\` adds unregistered roots and the workspace-wide hygiene checks
(which read file sizes and hash same-size files, so they cost more). A diagnostic blocks a pack when it
is a registry-wide problem (missing or invalid \`index.json\`, identity conflicts, missing anchors,
nested roots) or a declaration or input problem of an asset in the build set. Declaration problems of
unregistered assets are warnings; of excluded assets, errors that do not block. Hygiene never blocks.
Diagnostics come ordered: blocking first, then by severity, root, path and code.

**After a merge.** An \`index.json\` that is valid except for its order or layout (entries out of
\`asset_id\` order, another indentation, key order or line endings, as a git merge or another tool leaves
it) is trusted as it is, sorted in memory, and reported with the non-blocking \`registry-not-canonical\`,
whose safe fix is the \`normalizeRegistry\` mutation (rewrite it canonically; class \`registry\`). Unresolved
merge-conflict markers (\`<<<<<<<\`, \`|||||||\`, \`=======\`, \`>>>>>>>\`) are \`registry-merge-conflict\` (or
\`declaration-merge-conflict\` in an \`asset.json\`), naming each marker line in \`related\`; nothing is trusted
from such a registry until a person resolves it. Two entries that received one \`asset_id\` on two branches
are \`identity-duplicate-id\` on each, and each offers the \`reassignAssetId\` mutation: that entry gets the
next free id. It needs consent, because the runtime and game code refer to assets by id. Like every safe
fix, both are applied with \`applySafeFix\` (or the mutation itself), previewed first, through the lane.
`;
