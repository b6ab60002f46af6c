CREATE TABLE `assets` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`batch_id` text NOT NULL,
	`name` text NOT NULL,
	`size` integer NOT NULL,
	`type` text NOT NULL,
	`sha256` text NOT NULL,
	`status` text NOT NULL,
	`version` integer DEFAULT 1 NOT NULL,
	`expires_at` integer,
	`claimed_at` integer,
	`attempts` integer DEFAULT 0 NOT NULL,
	`error` text,
	`width` integer,
	`height` integer,
	`taken_at` integer,
	`camera_make` text,
	`camera_model` text,
	`variants` text,
	`near_duplicate_of` text,
	`labels` text,
	`caption` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action,
	CONSTRAINT "assets_status_check" CHECK("assets"."status" IN ('pending','uploaded','processing','processed','embedding','ready','failed','deleting'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX `assets_user_sha256` ON `assets` (`user_id`,`sha256`);--> statement-breakpoint
CREATE INDEX `assets_user_created` ON `assets` (`user_id`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `assets_user_status` ON `assets` (`user_id`,`status`);--> statement-breakpoint
CREATE INDEX `assets_status_updated` ON `assets` (`status`,`updated_at`);--> statement-breakpoint
CREATE TABLE `batch_items` (
	`batch_id` text NOT NULL,
	`asset_id` text NOT NULL,
	`user_id` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`batch_id`) REFERENCES `batches`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `batch_items_batch_asset` ON `batch_items` (`batch_id`,`asset_id`);--> statement-breakpoint
CREATE INDEX `batch_items_asset` ON `batch_items` (`asset_id`);--> statement-breakpoint
CREATE TABLE `batches` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `batches_user_created` ON `batches` (`user_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `users` (
	`id` text PRIMARY KEY NOT NULL,
	`sub` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `users_sub_unique` ON `users` (`sub`);