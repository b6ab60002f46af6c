// The emscripten factory of ./webp-enc-simd.js (typed where it is used: codecs/webp.ts).
declare const factory: unknown;
export default factory;
