import { defineConfig } from "vitest/config";

// The browser app's pure parts (upload scheduler, progress reducer, hashing, sniffing):
// plain TypeScript with injected clock, randomness and transport, so Node runs them.
export default defineConfig({
  test: {
    name: "web",
    environment: "node",
    include: ["test/**/*.test.ts"],
  },
});
