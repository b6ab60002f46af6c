// emscripten JS library: the functions decode.c imports from JS. Their bodies are never
// used (STANDALONE_WASM): the module imports them from `env`, and the glue
// (src/codecs/av1.ts) provides them.
mergeInto(LibraryManager.library, {
  av_out: (y, n, rgba) => {},
});
