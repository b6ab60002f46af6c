import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import { UserHub } from "../../api/src/hub/user-hub";

it("USER_HUB is the api's UserHub class running next to the processor, not another script", async () => {
  const stub = env.USER_HUB.get(env.USER_HUB.idFromName(crypto.randomUUID()));
  // runInDurableObject only reaches objects defined by the test's main worker.
  const isHub = await runInDurableObject(stub, (instance) => instance instanceof UserHub);
  expect(isHub).toBe(true);
});
