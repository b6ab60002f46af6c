// emscripten JS library: the functions decode.c imports from JS. Their bodies are never
// used (STANDALONE_WASM): the module imports them from `env`, and the glue
// (src/codecs/av1.ts) provides them. (emscripten 3.1.6 reads library functions as
// `function` expressions.)
mergeInto(LibraryManager.library, {
  // biome-ignore lint/complexity/useArrowFunction: emscripten's library format
  av_out: function () {},
  // biome-ignore lint/complexity/useArrowFunction: emscripten's library format
  av_resized: function () {},
});
