import { type AssetEventInput, publishSafely } from "@darkroom/shared";

export function hubFor(env: Env, uid: string) {
  return env.USER_HUB.get(env.USER_HUB.idFromName(uid));
}

export function publish(env: Env, uid: string, events: AssetEventInput[]): Promise<void> {
  return publishSafely(hubFor(env, uid), events);
}
