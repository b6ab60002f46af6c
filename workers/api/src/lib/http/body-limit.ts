import { bodyLimit } from "hono/body-limit";
import { PayloadTooLarge } from "../../errors";

/** Routes whose body is a few small fields (dev login, the hub benchmark's burst). */
export const SMALL_BODY_BYTES = 4 * 1024;

/**
 * hono's `bodyLimit`, refusing through the one `onError`: a declared Content-Length over
 * the limit is refused before a byte is read; a body without one (chunked) is counted
 * while it streams and refused as soon as it passes the limit, before the handler runs.
 */
export function limitBody(maxBytes: number) {
  return bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new PayloadTooLarge(maxBytes);
    },
  });
}
