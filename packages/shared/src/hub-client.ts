import type { AssetEventInput } from "./events";

/** The part of the UserHub RPC surface every stage uses. */
export interface HubPublisher {
  publish(
    events: AssetEventInput[],
  ): Promise<{ ok: true; seq: number } | { ok: false; error: string }>;
}

/**
 * The hub of one user, from a stage worker. Its binding points at another script
 * (`script_name`), so `wrangler types` cannot know the class; the RPC it calls is
 * validated with zod on the hub's side.
 */
export function hubPublisher<H extends Rpc.DurableObjectBranded | undefined>(
  ns: DurableObjectNamespace<H>,
  uid: string,
): HubPublisher {
  return ns.get(ns.idFromName(uid)) as unknown as HubPublisher;
}

/**
 * Publishes asset events to the user's hub. A failure to publish never fails the work
 * itself: clients recover through `resume`/`reset` and the stats recomputed from D1.
 */
export async function publishSafely(hub: HubPublisher, events: AssetEventInput[]): Promise<void> {
  if (events.length === 0) return;
  try {
    // One RPC for the whole list: an upload request publishes up to 100 events.
    const result = await hub.publish(events);
    if (!result.ok) console.error("publish refused", result.error);
  } catch (err) {
    console.warn("publish failed", { events: events.length, err: String(err) });
  }
}
