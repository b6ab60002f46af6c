// Error bodies as they reach a client: our API's JSON (`{ error: { code, message } }`,
// see workers/api/src/errors.ts) or an S3 XML error from R2.
//
// R2's S3 endpoint answers errors as XML (https://developers.cloudflare.com/r2/api/error-codes/,
// "How errors are returned"):
//   <?xml version="1.0" encoding="UTF-8"?>
//   <Error>
//     <Code>NoSuchKey</Code>
//     <Message>The specified key does not exist.</Message>
//   </Error>
// Only <Code> and <Message> are read. The documented shape is flat and fixed, so two
// anchored matches do the job in the page, the CLI and Node alike (DOMParser exists only
// in the browser, and an XML library would add to the page's bundle for two fields).

/** @typedef {{ code: string, message: string }} ErrorInfo */

const ENTITIES = /** @type {Record<string, string>} */ ({
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
});

/** @param {string} s */
function unescapeXml(s) {
  return s
    .replace(/<!\[CDATA\[([\s\S]*?)\]\]>/g, "$1")
    .replace(/&(amp|lt|gt|quot|apos);/g, (_, name) => ENTITIES[name] ?? "")
    .replace(/&#(\d+);/g, (_, n) => String.fromCodePoint(Number(n)))
    .replace(/&#x([0-9a-fA-F]+);/g, (_, n) => String.fromCodePoint(Number.parseInt(n, 16)))
    .trim();
}

/**
 * `<Error><Code>…</Code><Message>…</Message></Error>` → `{ code, message }`, or null when
 * the text is not an S3 error document.
 * @param {string} text
 * @returns {ErrorInfo | null}
 */
export function parseS3Error(text) {
  if (!/<Error[\s>]/.test(text)) return null;
  const code = /<Code>([\s\S]*?)<\/Code>/.exec(text)?.[1];
  if (code === undefined) return null;
  const message = /<Message>([\s\S]*?)<\/Message>/.exec(text)?.[1] ?? "";
  return { code: unescapeXml(code), message: unescapeXml(message) };
}

/**
 * Our API's `{ error: { code, message } }`, or null.
 * @param {string} text
 * @returns {ErrorInfo | null}
 */
export function parseApiError(text) {
  /** @type {unknown} */
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof body !== "object" || body === null || !("error" in body)) return null;
  const error = body.error;
  if (typeof error !== "object" || error === null) return null;
  const code = "code" in error && typeof error.code === "string" ? error.code : null;
  if (!code) return null;
  const message = "message" in error && typeof error.message === "string" ? error.message : "";
  return { code, message };
}

/**
 * Whatever answered: our JSON, R2's XML, or neither (a proxy's HTML page, an empty body);
 * then the code is `http_<status>` and the message the start of the text.
 * @param {number} status
 * @param {string} text
 * @param {string} [statusText]
 * @returns {ErrorInfo}
 */
export function errorInfo(status, text, statusText = "") {
  return (
    parseApiError(text) ??
    parseS3Error(text) ?? {
      code: status === 0 ? "network_error" : `http_${status}`,
      message: text.trim().slice(0, 200) || statusText || (status === 0 ? "no answer" : ""),
    }
  );
}
