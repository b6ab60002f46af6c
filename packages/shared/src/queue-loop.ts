import { backoffSeconds } from "./lifecycle/backoff.js";
import { ClaimHeld } from "./lifecycle/claim-held";
import type { StageResult } from "./lifecycle/outcomes";

type Handler<E> = (env: E, body: unknown) => Promise<StageResult>;

export type StageHandlers<E> = {
  process: Handler<E>;
  deadLetter: Handler<E>;
  /** The asset a message is about, for the log line of a message that threw. */
  assetIdOf: (body: unknown) => string | null;
  /**
   * The pipeline stage (or touch) a message is for, as its failures name it
   * (pipeline.ts): the `stage` of its log line, `-dlq` appended for a dead letter.
   */
  stageOf: (body: unknown) => string;
};

/** One structured line per message: what production logs show of every delivery. */
export type MessageLog =
  | ({ stage: string; ms: number } & StageResult)
  | {
      stage: string;
      assetId: string | null;
      outcome: "claim-held" | "retry";
      ms: number;
      attempts: number;
      delaySeconds: number;
      error?: string;
    };

/**
 * The queue consumer loop every stage uses: messages of `<queue>-dlq` go to
 * `deadLetter`, the others to `process`; each message is acked or retried on its own,
 * so one bad photo never redelivers the batch. A throw is a transient failure: retried
 * with exponential backoff and jitter (after max_retries the message dead-letters).
 * Every message ends in one JSON log line `{stage, assetId, outcome, ms}` (plus `code`
 * for a failure, the delay and error for a retry), `stage` named as the stage's failures.
 */
export async function consumeBatch<E>(
  batch: MessageBatch<unknown>,
  env: E,
  handlers: StageHandlers<E>,
  log: (line: MessageLog) => void = logLine,
): Promise<void> {
  const dead = batch.queue.endsWith("-dlq");
  const handle = dead ? handlers.deadLetter : handlers.process;
  for (const msg of batch.messages) {
    const started = Date.now();
    const stage = handlers.stageOf(msg.body);
    const name = dead ? `${stage}-dlq` : stage;
    try {
      const result = await handle(env, msg.body);
      msg.ack();
      log({ stage: name, ...result, ms: Date.now() - started });
    } catch (err) {
      const held = err instanceof ClaimHeld;
      const delaySeconds = held ? err.delaySeconds : backoffSeconds(msg.attempts);
      msg.retry({ delaySeconds });
      log({
        stage: name,
        assetId: handlers.assetIdOf(msg.body),
        outcome: held ? "claim-held" : "retry",
        ms: Date.now() - started,
        attempts: msg.attempts,
        delaySeconds,
        ...(held ? {} : { error: String(err) }),
      });
    }
  }
}

function logLine(line: MessageLog): void {
  if (line.outcome === "retry") console.error(JSON.stringify(line));
  else console.log(JSON.stringify(line));
}
