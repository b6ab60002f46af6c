// Test entry: the embedder as deployed, plus the api's UserHub so that the USER_HUB
// binding (another script's class in wrangler.toml) is a real hub in tests.
export { UserHub } from "../../api/src/hub/user-hub";
export { default } from "../src/index";
