/** The limits the transport enforces on what a client sends and what the server answers, with why each value. */

/**
 * The largest frame body the server reads, in bytes (64 MiB). The largest legitimate request is a few
 * kilobytes (an `initialize` or a `createAsset` with its declaration), so this leaves four orders of
 * magnitude of headroom while capping what one hostile or broken client can make the server hold for a
 * frame. A longer frame is refused and its body skipped without being buffered.
 */
export const MAX_FRAME_BYTES = 64 * 1024 * 1024;

/**
 * The longest header block, in bytes (8 KiB, as the client's frame guard allows for the server's output).
 * Real headers are under 100 bytes; anything longer is not a header.
 */
export const MAX_HEADER_BYTES = 8 * 1024;

/**
 * How much input the reader discards while looking for the next `Content-Length:` header before it gives
 * up (1 MiB). Past that the stream is not a broken frame but something that is not LSP at all, and the
 * server exits with code 1 so that the client restarts it instead of talking to a deaf server.
 */
export const MAX_RESYNC_BYTES = 1024 * 1024;

/**
 * The deepest nesting of arrays and objects in a message the server accepts (64 levels, the message object
 * itself being level 1). The deepest legitimate requests are a `createAsset` preview or apply (message,
 * params, mutation, declaration, output, codec options: 6 levels before free-form values) and LSP
 * `initialize` (capabilities reach about 8 levels), so 64 leaves room for any sensible free-form
 * `codec_options`, `build` or `initializationOptions` while refusing the thousands of levels that would
 * overflow the stack of code that walks a value recursively.
 */
export const MAX_MESSAGE_DEPTH = 64;

/**
 * The deepest nesting the server sends (128 levels). Outbound messages wrap what requests and files carry
 * (an event body holding an outcome holding a declaration), so the limit is twice the inbound one; it stays
 * far below the depth at which `JSON.stringify` overflows the stack, so a too-deep value is refused by a
 * check rather than by a crash.
 */
export const MAX_OUTBOUND_DEPTH = 128;

/** The framing limits one reader enforces; tests may lower them, the server uses the defaults above. */
export interface FramingLimits {
  readonly maxFrameBytes: number;
  readonly maxHeaderBytes: number;
  readonly maxResyncBytes: number;
  readonly maxMessageDepth: number;
}

/** The limits the server runs with. */
export const DEFAULT_FRAMING_LIMITS: FramingLimits = {
  maxFrameBytes: MAX_FRAME_BYTES,
  maxHeaderBytes: MAX_HEADER_BYTES,
  maxResyncBytes: MAX_RESYNC_BYTES,
  maxMessageDepth: MAX_MESSAGE_DEPTH,
};
