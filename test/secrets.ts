/** Secrets for the workerd test projects (never used outside tests). */
export const testSecrets = {
  AUTH_SECRET: "test-auth-secret-0123456789abcdef0123456789",
  UPLOAD_SIGNING_SECRET: "test-upload-signing-secret-0123456789",
  MEDIA_SIGNING_SECRET: "test-media-signing-secret-0123456789",
  TICKET_SIGNING_SECRET: "test-ticket-signing-secret-0123456789",
  R2_ACCESS_KEY_ID: "",
  R2_SECRET_ACCESS_KEY: "",
};
