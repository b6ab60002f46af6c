// The codecs' WebAssembly modules, as the workers' generated worker-configuration.d.ts
// declares them (wrangler bundles a `.wasm` import as a compiled module).
declare module "*.wasm" {
  const value: WebAssembly.Module;
  export default value;
}
