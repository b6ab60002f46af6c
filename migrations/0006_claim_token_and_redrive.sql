ALTER TABLE `assets` ADD `claim_token` text;--> statement-breakpoint
ALTER TABLE `assets` ADD `retry_at` integer;