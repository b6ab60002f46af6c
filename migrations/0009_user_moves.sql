-- Moving a user between shards online (issue 22, DESIGN.md "Sharding: moving a user";
-- packages/shared/src/lifecycle/move-user.ts). `user_moves` lives in the DIRECTORY (one
-- row while a move runs: `storeFor` refuses a user in `copying`), `shard_fences` in each
-- SHARD. The fence is what holds a user's writes: it is in the same database as the
-- writes, so a writer that looked the user up before the move began, and writes after,
-- is refused by the database itself rather than by a check it made earlier. One migration
-- set runs on every database, so both tables exist everywhere.
--> statement-breakpoint
CREATE TABLE `shard_fences` (
	`user_id` text PRIMARY KEY NOT NULL,
	`state` text NOT NULL,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `user_moves` (
	`user_id` text PRIMARY KEY NOT NULL,
	`source` integer NOT NULL,
	`target` integer NOT NULL,
	`state` text NOT NULL,
	`started_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
-- `batches`: no write of a fenced user (`hold`), no insert or update after they left (`moved`).
CREATE TRIGGER `batches_fence_insert` BEFORE INSERT ON `batches`
WHEN EXISTS (SELECT 1 FROM `shard_fences` WHERE `user_id` = new.`user_id` AND `state` IN ('hold', 'moved')) BEGIN
	SELECT RAISE(ABORT, 'user_moving');
END;
--> statement-breakpoint
CREATE TRIGGER `batches_fence_update` BEFORE UPDATE ON `batches`
WHEN EXISTS (SELECT 1 FROM `shard_fences` WHERE `user_id` IN (old.`user_id`, new.`user_id`) AND `state` IN ('hold', 'moved')) BEGIN
	SELECT RAISE(ABORT, 'user_moving');
END;
--> statement-breakpoint
CREATE TRIGGER `batches_fence_delete` BEFORE DELETE ON `batches`
WHEN EXISTS (SELECT 1 FROM `shard_fences` WHERE `user_id` = old.`user_id` AND `state` = 'hold') BEGIN
	SELECT RAISE(ABORT, 'user_moving');
END;
--> statement-breakpoint
-- `batch_items`: no write of a fenced user (`hold`), no insert or update after they left (`moved`).
CREATE TRIGGER `batch_items_fence_insert` BEFORE INSERT ON `batch_items`
WHEN EXISTS (SELECT 1 FROM `shard_fences` WHERE `user_id` = new.`user_id` AND `state` IN ('hold', 'moved')) BEGIN
	SELECT RAISE(ABORT, 'user_moving');
END;
--> statement-breakpoint
CREATE TRIGGER `batch_items_fence_update` BEFORE UPDATE ON `batch_items`
WHEN EXISTS (SELECT 1 FROM `shard_fences` WHERE `user_id` IN (old.`user_id`, new.`user_id`) AND `state` IN ('hold', 'moved')) BEGIN
	SELECT RAISE(ABORT, 'user_moving');
END;
--> statement-breakpoint
CREATE TRIGGER `batch_items_fence_delete` BEFORE DELETE ON `batch_items`
WHEN EXISTS (SELECT 1 FROM `shard_fences` WHERE `user_id` = old.`user_id` AND `state` = 'hold') BEGIN
	SELECT RAISE(ABORT, 'user_moving');
END;
--> statement-breakpoint
-- `assets`: no write of a fenced user (`hold`), no insert or update after they left (`moved`).
CREATE TRIGGER `assets_fence_insert` BEFORE INSERT ON `assets`
WHEN EXISTS (SELECT 1 FROM `shard_fences` WHERE `user_id` = new.`user_id` AND `state` IN ('hold', 'moved')) BEGIN
	SELECT RAISE(ABORT, 'user_moving');
END;
--> statement-breakpoint
CREATE TRIGGER `assets_fence_update` BEFORE UPDATE ON `assets`
WHEN EXISTS (SELECT 1 FROM `shard_fences` WHERE `user_id` IN (old.`user_id`, new.`user_id`) AND `state` IN ('hold', 'moved')) BEGIN
	SELECT RAISE(ABORT, 'user_moving');
END;
--> statement-breakpoint
CREATE TRIGGER `assets_fence_delete` BEFORE DELETE ON `assets`
WHEN EXISTS (SELECT 1 FROM `shard_fences` WHERE `user_id` = old.`user_id` AND `state` = 'hold') BEGIN
	SELECT RAISE(ABORT, 'user_moving');
END;
--> statement-breakpoint
-- `asset_features`: no write of a fenced user (`hold`), no insert or update after they left (`moved`).
CREATE TRIGGER `asset_features_fence_insert` BEFORE INSERT ON `asset_features`
WHEN EXISTS (SELECT 1 FROM `shard_fences` WHERE `user_id` = new.`user_id` AND `state` IN ('hold', 'moved')) BEGIN
	SELECT RAISE(ABORT, 'user_moving');
END;
--> statement-breakpoint
CREATE TRIGGER `asset_features_fence_update` BEFORE UPDATE ON `asset_features`
WHEN EXISTS (SELECT 1 FROM `shard_fences` WHERE `user_id` IN (old.`user_id`, new.`user_id`) AND `state` IN ('hold', 'moved')) BEGIN
	SELECT RAISE(ABORT, 'user_moving');
END;
--> statement-breakpoint
CREATE TRIGGER `asset_features_fence_delete` BEFORE DELETE ON `asset_features`
WHEN EXISTS (SELECT 1 FROM `shard_fences` WHERE `user_id` = old.`user_id` AND `state` = 'hold') BEGIN
	SELECT RAISE(ABORT, 'user_moving');
END;
--> statement-breakpoint
-- `search_docs`: no write of a fenced user (`hold`), no insert or update after they left (`moved`).
CREATE TRIGGER `search_docs_fence_insert` BEFORE INSERT ON `search_docs`
WHEN EXISTS (SELECT 1 FROM `shard_fences` WHERE `user_id` = new.`user_id` AND `state` IN ('hold', 'moved')) BEGIN
	SELECT RAISE(ABORT, 'user_moving');
END;
--> statement-breakpoint
CREATE TRIGGER `search_docs_fence_update` BEFORE UPDATE ON `search_docs`
WHEN EXISTS (SELECT 1 FROM `shard_fences` WHERE `user_id` IN (old.`user_id`, new.`user_id`) AND `state` IN ('hold', 'moved')) BEGIN
	SELECT RAISE(ABORT, 'user_moving');
END;
--> statement-breakpoint
CREATE TRIGGER `search_docs_fence_delete` BEFORE DELETE ON `search_docs`
WHEN EXISTS (SELECT 1 FROM `shard_fences` WHERE `user_id` = old.`user_id` AND `state` = 'hold') BEGIN
	SELECT RAISE(ABORT, 'user_moving');
END;
--> statement-breakpoint
-- `asset_vectors`: no write of a fenced user (`hold`), no insert or update after they left (`moved`).
CREATE TRIGGER `asset_vectors_fence_insert` BEFORE INSERT ON `asset_vectors`
WHEN EXISTS (SELECT 1 FROM `shard_fences` WHERE `user_id` = new.`user_id` AND `state` IN ('hold', 'moved')) BEGIN
	SELECT RAISE(ABORT, 'user_moving');
END;
--> statement-breakpoint
CREATE TRIGGER `asset_vectors_fence_update` BEFORE UPDATE ON `asset_vectors`
WHEN EXISTS (SELECT 1 FROM `shard_fences` WHERE `user_id` IN (old.`user_id`, new.`user_id`) AND `state` IN ('hold', 'moved')) BEGIN
	SELECT RAISE(ABORT, 'user_moving');
END;
--> statement-breakpoint
CREATE TRIGGER `asset_vectors_fence_delete` BEFORE DELETE ON `asset_vectors`
WHEN EXISTS (SELECT 1 FROM `shard_fences` WHERE `user_id` = old.`user_id` AND `state` = 'hold') BEGIN
	SELECT RAISE(ABORT, 'user_moving');
END;
--> statement-breakpoint
-- A copy arriving (`incoming`) brings rows with their stamps set: their events were
-- counted in the rollups of the shard where they happened, so here they count nothing
-- (0007's insert trigger, now skipped for such a user). Assets failed now are a state,
-- not an event: they follow the row (the source's delete takes them off there).
DROP TRIGGER `assets_rollup_insert`;
--> statement-breakpoint
CREATE TRIGGER `assets_rollup_insert` AFTER INSERT ON `assets`
WHEN NOT EXISTS (SELECT 1 FROM `shard_fences` WHERE `user_id` = new.`user_id` AND `state` = 'incoming') BEGIN
	INSERT INTO `ops_counts` (`minute`, `series`, `n`)
	SELECT (new.`uploaded_at` + 59999) / 60000, 'uploaded', 1 WHERE new.`uploaded_at` IS NOT NULL
	ON CONFLICT (`minute`, `series`) DO UPDATE SET `n` = `n` + 1;
	INSERT INTO `ops_counts` (`minute`, `series`, `n`)
	SELECT (new.`processed_at` + 59999) / 60000, 'processed', 1 WHERE new.`processed_at` IS NOT NULL
	ON CONFLICT (`minute`, `series`) DO UPDATE SET `n` = `n` + 1;
	INSERT INTO `ops_counts` (`minute`, `series`, `n`)
	SELECT (new.`ready_at` + 59999) / 60000, 'ready', 1 WHERE new.`ready_at` IS NOT NULL
	ON CONFLICT (`minute`, `series`) DO UPDATE SET `n` = `n` + 1;
	INSERT INTO `ops_counts` (`minute`, `series`, `n`)
	SELECT (new.`retried_at` + 59999) / 60000, 'retried', 1 WHERE new.`retried_at` IS NOT NULL
	ON CONFLICT (`minute`, `series`) DO UPDATE SET `n` = `n` + 1;
	INSERT INTO `ops_latency` (`minute`, `series`, `lo`, `n`, `sum_ms`)
	SELECT (new.`processed_at` + 59999) / 60000, 'uploaded_to_processed',
		(SELECT MAX(`lo`) FROM `ops_latency_bounds` WHERE `lo` <= new.`processed_at` - new.`uploaded_at`),
		1, new.`processed_at` - new.`uploaded_at`
	WHERE new.`uploaded_at` IS NOT NULL AND new.`processed_at` >= new.`uploaded_at`
	ON CONFLICT (`minute`, `series`, `lo`) DO UPDATE SET `n` = `n` + 1, `sum_ms` = `sum_ms` + excluded.`sum_ms`;
	INSERT INTO `ops_latency` (`minute`, `series`, `lo`, `n`, `sum_ms`)
	SELECT (new.`ready_at` + 59999) / 60000, 'processed_to_ready',
		(SELECT MAX(`lo`) FROM `ops_latency_bounds` WHERE `lo` <= new.`ready_at` - new.`processed_at`),
		1, new.`ready_at` - new.`processed_at`
	WHERE new.`processed_at` IS NOT NULL AND new.`ready_at` >= new.`processed_at`
	ON CONFLICT (`minute`, `series`, `lo`) DO UPDATE SET `n` = `n` + 1, `sum_ms` = `sum_ms` + excluded.`sum_ms`;
	INSERT INTO `ops_failures` (`minute`, `stage`, `code`, `n`)
	SELECT (COALESCE(new.`status_at`, new.`updated_at`) + 59999) / 60000,
		COALESCE(CASE WHEN json_valid(new.`error`) THEN json_extract(new.`error`, '$.stage') END, ''),
		COALESCE(CASE WHEN json_valid(new.`error`) THEN json_extract(new.`error`, '$.code') END, ''), 1
	WHERE new.`status` = 'failed'
	ON CONFLICT (`minute`, `stage`, `code`) DO UPDATE SET `n` = `n` + 1;
END;
--> statement-breakpoint
CREATE TRIGGER `assets_failed_now_insert` AFTER INSERT ON `assets` BEGIN
	INSERT INTO `ops_failed_now` (`stage`, `code`, `n`)
	SELECT COALESCE(CASE WHEN json_valid(new.`error`) THEN json_extract(new.`error`, '$.stage') END, ''),
		COALESCE(CASE WHEN json_valid(new.`error`) THEN json_extract(new.`error`, '$.code') END, ''), 1
	WHERE new.`status` = 'failed'
	ON CONFLICT (`stage`, `code`) DO UPDATE SET `n` = `n` + 1;
END;
