// The bounds of what a client names in `POST /api/uploads`, here (plain JS) so the CLI,
// which runs without a build step, and the api's zod schema (src/http.ts) share them.

/** The longest `clientId` the API stores. */
export const MAX_CLIENT_ID_LENGTH = 200;

/**
 * A `clientId` for the `index`-th file of one request, named by its relative `path`: the
 * path itself when it fits, else its tail behind the index (unique within the request,
 * still readable in logs). A folder nested deep enough to pass the bound must not make
 * every file in it fail.
 * @param {string} path
 * @param {number} index
 * @returns {string}
 */
export function clientIdFor(path, index) {
  if (path.length <= MAX_CLIENT_ID_LENGTH) return path;
  const prefix = `#${index}…`;
  return prefix + path.slice(path.length - (MAX_CLIENT_ID_LENGTH - prefix.length));
}
