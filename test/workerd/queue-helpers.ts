// Shared by the processor's and the embedder's workerd suites.
import {
  createExecutionContext,
  createMessageBatch,
  getQueueResult,
  type QueueResult,
} from "cloudflare:test";
import type { AssetFrame } from "@darkroom/shared";
import type { UserHub } from "../../workers/api/src/hub/user-hub";

/** Events a stage published to the user's hub (the real UserHub of the api). */
export async function hubEventsOf<H extends Rpc.DurableObjectBranded | undefined>(
  hubs: DurableObjectNamespace<H>,
  uid: string,
): Promise<AssetFrame[]> {
  // The stages bind the hub across scripts, untyped; in tests it is the api's class.
  const ns = hubs as unknown as DurableObjectNamespace<UserHub>;
  const { events } = await ns.get(ns.idFromName(uid)).eventsSince(0);
  return events;
}

export type Delivery = { id: string; body: unknown; attempts?: number };

/**
 * Runs a worker's queue handler on one delivered batch and returns its ack/retry state.
 * `getQueueResult` of @cloudflare/vitest-plugin 1.5.0 leaves `delaySeconds` out of
 * `retryMessages` (its mock `retry()` ignores the options), so the delay each message
 * asked for is recorded here and filled in.
 */
export async function deliverBatch<E>(
  handler: (batch: MessageBatch<unknown>, env: E) => unknown,
  queue: string,
  messages: Delivery[],
  env: E,
): Promise<QueueResult> {
  const batch = createMessageBatch(
    queue,
    messages.map((m) => ({
      id: m.id,
      timestamp: new Date(),
      attempts: m.attempts ?? 1,
      body: m.body,
    })),
  );
  const delays = new Map<string, number | undefined>();
  for (const msg of batch.messages) {
    const retry = msg.retry.bind(msg);
    msg.retry = (options?: QueueRetryOptions) => {
      delays.set(msg.id, options?.delaySeconds);
      retry(options);
    };
  }
  const ctx = createExecutionContext();
  await handler(batch, env);
  const result = await getQueueResult(batch, ctx);
  return {
    ...result,
    retryMessages: result.retryMessages.map((r) => ({
      ...r,
      delaySeconds: r.delaySeconds ?? delays.get(r.msgId),
    })),
  };
}

/** The queue loop's JSON lines among the calls of a console spy. */
export function messageLines(spy: { mock: { calls: unknown[][] } }): unknown[] {
  return spy.mock.calls.flatMap(([first]) => {
    if (typeof first !== "string" || !first.startsWith("{")) return [];
    const line: unknown = JSON.parse(first);
    return [line];
  });
}

/** A message a stage sent, with the delay it asked for. */
export type SentMessage = { body: unknown; delaySeconds: number | undefined };

/**
 * A queue binding that keeps what is sent to it instead of delivering it: a test then
 * decides when (on its own clock) each message arrives.
 */
export function recordingQueue(): Queue & { sent: SentMessage[] } {
  const sent: SentMessage[] = [];
  // What a real send answers: the backlog this queue holds.
  const metadata = () => ({ metrics: { backlogCount: sent.length, backlogBytes: 0 } });
  return {
    sent,
    async metrics() {
      return metadata().metrics;
    },
    async send(body: unknown, options?: QueueSendOptions) {
      sent.push({ body, delaySeconds: options?.delaySeconds });
      return { metadata: metadata() };
    },
    async sendBatch(messages: Iterable<MessageSendRequest>, options?: QueueSendBatchOptions) {
      for (const m of messages) {
        sent.push({ body: m.body, delaySeconds: m.delaySeconds ?? options?.delaySeconds });
      }
      return { metadata: metadata() };
    },
  };
}
