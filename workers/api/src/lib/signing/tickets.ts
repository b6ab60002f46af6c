import { hmacSign, hmacVerify } from "./hmac";

export const TICKET_TTL_SECONDS = 60;

export type Ticket = { uid: string; nonce: string; exp: number };

/**
 * A WebSocket ticket: short-lived and single-use, so no long-lived bearer token ever
 * lands in a URL or an access log. The HMAC proves who it is for; the user's hub
 * remembers spent nonces, which makes it single-use.
 */
export async function issueTicket(
  secret: string,
  uid: string,
  nowMs = Date.now(),
): Promise<string> {
  const nonce = crypto.randomUUID().replaceAll("-", "");
  const exp = Math.floor(nowMs / 1000) + TICKET_TTL_SECONDS;
  const body = `${uid}.${nonce}.${exp}`;
  return `${body}.${await hmacSign(secret, `ticket\n${body}`)}`;
}

/** The ticket's claims when its signature holds and it has not expired; null otherwise. */
export async function verifyTicket(
  secret: string,
  ticket: string,
  nowMs = Date.now(),
): Promise<Ticket | null> {
  const parts = ticket.split(".");
  if (parts.length !== 4) return null;
  const [uid, nonce, expRaw, sig] = parts;
  if (!uid || !nonce || !expRaw || !sig) return null;
  const body = `${uid}.${nonce}.${expRaw}`;
  if (!(await hmacVerify(secret, `ticket\n${body}`, sig))) return null;
  const exp = Number(expRaw);
  if (!Number.isInteger(exp) || exp * 1000 < nowMs) return null;
  return { uid, nonce, exp };
}
