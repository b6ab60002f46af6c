// R2 keys are built only from internal UUIDs, never from user-supplied strings, and
// parsed with an anchored pattern so a stray key can never be mistaken for an asset.
const uuid = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
const keyPattern = new RegExp(`^u/(${uuid})/(${uuid})/(original|thumb\\.webp|preview\\.webp)$`);
const uuidPattern = new RegExp(`^${uuid}$`);

export type ObjectKind = "original" | "thumb" | "preview";

export function isUuid(value: string): boolean {
  return uuidPattern.test(value);
}

export function originalKey(uid: string, assetId: string): string {
  return `u/${uid}/${assetId}/original`;
}

export function variantKey(uid: string, assetId: string, kind: ObjectKind): string {
  return kind === "original" ? originalKey(uid, assetId) : `u/${uid}/${assetId}/${kind}.webp`;
}

export function assetPrefix(uid: string, assetId: string): string {
  return `u/${uid}/${assetId}/`;
}

export function parseObjectKey(
  key: string,
): { uid: string; assetId: string; kind: ObjectKind } | null {
  const m = keyPattern.exec(key);
  if (!m?.[1] || !m[2] || !m[3]) return null;
  const kind: ObjectKind =
    m[3] === "original" ? "original" : m[3] === "thumb.webp" ? "thumb" : "preview";
  return { uid: m[1], assetId: m[2], kind };
}
