export {
  ApiError,
  backoffMs,
  createClient,
  retryAfterMs,
  serverTotalMs,
  withRetries,
} from "./api.mjs";
export { main, parseCli, USAGE, UsageError } from "./cli.mjs";
export { scan, sha256File, sniffFile } from "./files.mjs";
export { MANIFEST_NAME, Manifest } from "./manifest.mjs";
export { formatStages, settled, stages, watchStats } from "./status.mjs";
export { uploadDirectory } from "./upload.mjs";
