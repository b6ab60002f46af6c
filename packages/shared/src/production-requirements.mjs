// The secrets a production deployment must set (README "Production setup", step 8), each
// with why. Plain JavaScript (typed by production-requirements.d.mts) so the Node scripts
// read it unbuilt: `npm run dev:prod` gives its workers exactly these, no more.
// Minimal on this branch: the code side of issue 19 (branch i19a) owns the full list.

/** @type {readonly { name: string, why: string }[]} */
export const PRODUCTION_SECRETS = Object.freeze([
  {
    name: "MEDIA_SIGNING_SECRET",
    why: "signs the short-lived URLs of thumbnails and previews (GET /api/media)",
  },
  {
    name: "TICKET_SIGNING_SECRET",
    why: "signs the one-time WebSocket tickets of live progress (POST /api/events/ticket)",
  },
  {
    name: "R2_ACCESS_KEY_ID",
    why: "the R2 API token's access key: presigns the browser's PUTs to the bucket",
  },
  {
    name: "R2_SECRET_ACCESS_KEY",
    why: "the R2 API token's secret: presigns the browser's PUTs to the bucket",
  },
]);
