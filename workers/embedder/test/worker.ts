// Test entry: the embedder as deployed, plus the api's UserHub and AiBreaker so that the
// USER_HUB and AI_BREAKER bindings (another script's classes) are real objects in tests, plus the
// test double of the AI binding (bound as AI_TEST_DOUBLE* in vitest.config.ts).
export { AiBreaker } from "../../api/src/breaker/ai-breaker";
export { UserHub } from "../../api/src/hub/user-hub";
export { default } from "../src/index";
export { AiTestDoubleEntrypoint } from "./ai-test-double-entrypoint";
