// Test entry: the embedder as deployed, plus the api's UserHub so that the USER_HUB
// binding (another script's class in wrangler.toml) is a real hub in tests, plus the
// test double of the AI binding (bound as AI_TEST_DOUBLE* in vitest.config.ts).
export { UserHub } from "../../api/src/hub/user-hub";
export { default } from "../src/index";
export { AiTestDoubleEntrypoint } from "./ai-test-double-entrypoint";
