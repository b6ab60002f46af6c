// exifr ships types for its package root only; the lite build has the same parse().
declare module "exifr/dist/lite.esm.mjs" {
  const exifr: { parse(input: Uint8Array | ArrayBuffer, options?: object): Promise<unknown> };
  export default exifr;
}
