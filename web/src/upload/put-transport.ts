// The PUT of one file's bytes to its signed URL (R2 presigned, or the local route), by
// XMLHttpRequest for its upload progress events. It only reports what came back; the
// shared classification (classifyPutAnswer) decides what that means.
import type { Answer } from "@darkroom/shared/client";
import type { Ticket } from "./scheduler";

export function putFile(
  ticket: Ticket,
  file: Blob,
  onProgress: (loaded: number) => void,
): Promise<Answer> {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open(ticket.method, ticket.url);
    for (const [k, v] of Object.entries(ticket.headers)) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => onProgress(e.loaded);
    xhr.onload = () =>
      resolve({
        status: xhr.status,
        body: xhr.status >= 200 && xhr.status < 300 ? "" : xhr.responseText,
        statusText: xhr.statusText,
        retryAfter: xhr.getResponseHeader("Retry-After"),
      });
    // An error answer without CORS headers (R2 sends them only with a valid CORS request)
    // lands here too, indistinguishable from a dropped connection: status 0.
    xhr.onerror = () => resolve({ status: 0, networkError: "connection failed" });
    xhr.ontimeout = () => resolve({ status: 0, networkError: "timed out" });
    xhr.onabort = () => resolve({ status: 0, networkError: "aborted" });
    xhr.send(file);
  });
}
