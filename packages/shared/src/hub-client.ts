import type { AssetEventInput } from "./events";

/** The part of the UserHub RPC surface every stage uses. */
export interface HubPublisher {
  publish(event: AssetEventInput): Promise<unknown>;
}

/**
 * The hub of one user, from a stage worker. Its binding points at another script
 * (`script_name`), so `wrangler types` cannot know the class; the RPC it calls is
 * validated with zod on the hub's side.
 */
export function hubPublisher(ns: DurableObjectNamespace, uid: string): HubPublisher {
  return ns.get(ns.idFromName(uid)) as unknown as HubPublisher;
}

/**
 * Publishes asset events to the user's hub. A failure to publish never fails the work
 * itself: clients recover through `resume`/`reset` and the stats recomputed from D1.
 */
export async function publishSafely(hub: HubPublisher, events: AssetEventInput[]): Promise<void> {
  for (const event of events) {
    try {
      await hub.publish(event);
    } catch (err) {
      console.warn("publish failed", {
        assetId: event.assetId,
        status: event.status,
        err: String(err),
      });
    }
  }
}
