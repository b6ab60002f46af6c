CREATE TABLE `request_timings` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`route` text NOT NULL,
	`at` integer NOT NULL,
	`duration_ms` integer NOT NULL,
	`status` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `request_timings_route_at` ON `request_timings` (`route`,`at`);--> statement-breakpoint
CREATE TABLE `sweep_runs` (
	`started_at` integer PRIMARY KEY NOT NULL,
	`duration_ms` integer NOT NULL,
	`renotified` integer NOT NULL,
	`expired` integer NOT NULL,
	`purged` integer NOT NULL,
	`reprocessed` integer NOT NULL,
	`reembedded` integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE `assets` ADD `status_at` integer;--> statement-breakpoint
ALTER TABLE `assets` ADD `uploaded_at` integer;--> statement-breakpoint
ALTER TABLE `assets` ADD `processed_at` integer;--> statement-breakpoint
ALTER TABLE `assets` ADD `ready_at` integer;--> statement-breakpoint
ALTER TABLE `assets` ADD `retried_at` integer;--> statement-breakpoint
ALTER TABLE `assets` ADD `sweeps` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `assets` ADD `swept_at` integer;--> statement-breakpoint
CREATE INDEX `assets_status_since` ON `assets` (`status`,`status_at`);--> statement-breakpoint
CREATE INDEX `assets_uploaded_at` ON `assets` (`uploaded_at`) WHERE "assets"."uploaded_at" IS NOT NULL;--> statement-breakpoint
CREATE INDEX `assets_processed_at` ON `assets` (`processed_at`) WHERE "assets"."processed_at" IS NOT NULL;--> statement-breakpoint
CREATE INDEX `assets_ready_at` ON `assets` (`ready_at`) WHERE "assets"."ready_at" IS NOT NULL;--> statement-breakpoint
CREATE INDEX `assets_retried_at` ON `assets` (`retried_at`) WHERE "assets"."retried_at" IS NOT NULL;--> statement-breakpoint
-- Hand-added: rows from before this migration entered their status at their last update.
UPDATE `assets` SET `status_at` = `updated_at`;
