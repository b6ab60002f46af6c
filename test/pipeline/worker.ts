// Test entry: the processor as deployed, plus the api's UserHub and AiBreaker so that the
// USER_HUB and AI_BREAKER bindings (another script's classes) are real objects. The
// embedder's handler is imported by the tests themselves (its queue is theirs to drive).
export { AiBreaker } from "../../workers/api/src/breaker/ai-breaker";
export { UserHub } from "../../workers/api/src/hub/user-hub";
export { default } from "../../workers/processor/src/index";
