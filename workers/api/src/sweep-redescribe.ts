import {
  aiBreaker,
  type BreakerNamespace,
  crossUserStores,
  REDESCRIBE,
  resendTouch,
  type StoreEnv,
  type SweepEnv,
} from "@darkroom/shared";

type Bindings<H extends Rpc.DurableObjectBranded | undefined> = SweepEnv<H> &
  StoreEnv & {
    AI_BREAKER: BreakerNamespace;
  };

/**
 * The sweeper's rule of the pipeline's `REDESCRIBE` touch: `ready` photos that skipped AI
 * for a reason that passes (breaker open, daily allocation used up, model unavailable) are
 * sent to the embedder again, oldest mark first, a bounded batch per run (`resendTouch`),
 * and only while the AI breaker is closed: an open breaker means the provider is still
 * failing, and the half-open probe belongs to fresh photos.
 */
export async function redescribeSkipped<H extends Rpc.DurableObjectBranded | undefined>(
  env: Bindings<H>,
  now = Date.now(),
): Promise<number> {
  const breaker = await aiBreaker(env.AI_BREAKER).status(now);
  if (breaker.state !== "closed") return 0;
  let sent = 0;
  for (const store of crossUserStores(env)) sent += await resendTouch(env, store, REDESCRIBE, now);
  return sent;
}
