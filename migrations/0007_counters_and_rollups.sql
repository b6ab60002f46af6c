-- Counts that do not scan the library (issue 22, DESIGN.md "Counters and rollups"). Per
-- database that holds assets (every shard): the triggers below run inside the statement
-- that changes an asset row, so no write path can forget them and a failed write leaves
-- them unchanged. D1 runs SQLite's engine, triggers included (docs/operations.md,
-- "Counters and rollups"). Hand-written: drizzle's schema cannot express triggers.
--
-- Per user, assets by status: what GET /api/stats and the hub's stats frames return. The
-- sweeper's recount (workers/api/src/ops/counters.ts) rewrites a few users' rows from
-- `assets` every run, so any drift heals within one cycle.
CREATE TABLE `user_status_counts` (
	`user_id` text NOT NULL,
	`status` text NOT NULL,
	`n` integer NOT NULL,
	PRIMARY KEY (`user_id`, `status`)
) WITHOUT ROWID;
--> statement-breakpoint
-- Where the recount resumes: the last user id it recounted ('' starts over).
CREATE TABLE `counter_recount` (
	`id` integer PRIMARY KEY CHECK (`id` = 0),
	`after` text NOT NULL
);
--> statement-breakpoint
INSERT INTO `counter_recount` (`id`, `after`) VALUES (0, '');
--> statement-breakpoint
INSERT INTO `user_status_counts` (`user_id`, `status`, `n`)
	SELECT `user_id`, `status`, COUNT(*) FROM `assets` GROUP BY `user_id`, `status`;
--> statement-breakpoint
CREATE TRIGGER `assets_counts_insert` AFTER INSERT ON `assets` BEGIN
	INSERT INTO `user_status_counts` (`user_id`, `status`, `n`) VALUES (new.`user_id`, new.`status`, 1)
	ON CONFLICT (`user_id`, `status`) DO UPDATE SET `n` = `n` + 1;
END;
--> statement-breakpoint
CREATE TRIGGER `assets_counts_delete` AFTER DELETE ON `assets` BEGIN
	UPDATE `user_status_counts` SET `n` = `n` - 1
	WHERE `user_id` = old.`user_id` AND `status` = old.`status`;
END;
--> statement-breakpoint
CREATE TRIGGER `assets_counts_update` AFTER UPDATE OF `status`, `user_id` ON `assets`
WHEN old.`status` IS NOT new.`status` OR old.`user_id` IS NOT new.`user_id` BEGIN
	UPDATE `user_status_counts` SET `n` = `n` - 1
	WHERE `user_id` = old.`user_id` AND `status` = old.`status`;
	INSERT INTO `user_status_counts` (`user_id`, `status`, `n`) VALUES (new.`user_id`, new.`status`, 1)
	ON CONFLICT (`user_id`, `status`) DO UPDATE SET `n` = `n` + 1;
END;
--> statement-breakpoint
-- Ops rollups (docs/operations.md, "Ops metrics"): events per minute, keyed by the minute
-- a time falls in, (key - 1) * 60 s < t <= key * 60 s, i.e. (t + 59999) / 60000: the
-- metrics windows are (since, until], so a window on whole minutes reads whole keys.
-- A row inserted with its stamps already set (a copy of a processed row) brings its
-- events like a row that went through the transitions.
--
-- Throughput: `uploaded`, `processed`, `ready`, and `retried` (a retry asked for).
CREATE TABLE `ops_counts` (
	`minute` integer NOT NULL,
	`series` text NOT NULL,
	`n` integer NOT NULL,
	PRIMARY KEY (`minute`, `series`)
) WITHOUT ROWID;
--> statement-breakpoint
-- Failures per minute by the error's stage and code ('' when the error has none).
CREATE TABLE `ops_failures` (
	`minute` integer NOT NULL,
	`stage` text NOT NULL,
	`code` text NOT NULL,
	`n` integer NOT NULL,
	PRIMARY KEY (`minute`, `stage`, `code`)
) WITHOUT ROWID;
--> statement-breakpoint
-- Assets failed right now, by stage and code: the failure groups' totals.
CREATE TABLE `ops_failed_now` (
	`stage` text NOT NULL,
	`code` text NOT NULL,
	`n` integer NOT NULL,
	PRIMARY KEY (`stage`, `code`)
) WITHOUT ROWID;
--> statement-breakpoint
-- Latency histograms per minute: `lo` is the lower bound of the fixed bucket the duration
-- fell in (ops_latency_bounds), `sum_ms` the exact sum of those durations.
CREATE TABLE `ops_latency` (
	`minute` integer NOT NULL,
	`series` text NOT NULL,
	`lo` integer NOT NULL,
	`n` integer NOT NULL,
	`sum_ms` integer NOT NULL,
	PRIMARY KEY (`minute`, `series`, `lo`)
) WITHOUT ROWID;
--> statement-breakpoint
-- The fixed buckets, the same in every shard so histograms add: 0..15 ms one bucket per
-- millisecond, then 16 buckets per power of two (width 2^e / 16 from 2^e): any duration is
-- at most 1/16 of itself above its bucket's lower bound. workers/api/src/ops/histogram.ts
-- computes the same lows (a test compares them). The last bucket (from ~31 h) is open.
CREATE TABLE `ops_latency_bounds` (`lo` integer PRIMARY KEY NOT NULL);
--> statement-breakpoint
INSERT INTO `ops_latency_bounds` (`lo`)
	WITH RECURSIVE `b`(`i`) AS (SELECT 0 UNION ALL SELECT `i` + 1 FROM `b` WHERE `i` < 383)
	SELECT CASE WHEN `i` < 16 THEN `i`
		ELSE (1 << (4 + (`i` - 16) / 16)) + ((`i` - 16) % 16) * (1 << ((`i` - 16) / 16)) END
	FROM `b`;
--> statement-breakpoint
CREATE TRIGGER `request_timings_rollup` AFTER INSERT ON `request_timings`
WHEN new.`status` < 400 AND new.`duration_ms` >= 0 BEGIN
	INSERT INTO `ops_latency` (`minute`, `series`, `lo`, `n`, `sum_ms`)
	SELECT (new.`at` + 59999) / 60000, new.`route`,
		(SELECT MAX(`lo`) FROM `ops_latency_bounds` WHERE `lo` <= new.`duration_ms`), 1, new.`duration_ms`
	WHERE 1
	ON CONFLICT (`minute`, `series`, `lo`) DO UPDATE SET `n` = `n` + 1, `sum_ms` = `sum_ms` + excluded.`sum_ms`;
END;
--> statement-breakpoint
CREATE TRIGGER `assets_rollup_uploaded` AFTER UPDATE OF `uploaded_at` ON `assets`
WHEN new.`uploaded_at` IS NOT NULL AND new.`uploaded_at` IS NOT old.`uploaded_at` BEGIN
	INSERT INTO `ops_counts` (`minute`, `series`, `n`) VALUES ((new.`uploaded_at` + 59999) / 60000, 'uploaded', 1)
	ON CONFLICT (`minute`, `series`) DO UPDATE SET `n` = `n` + 1;
END;
--> statement-breakpoint
CREATE TRIGGER `assets_rollup_processed` AFTER UPDATE OF `processed_at` ON `assets`
WHEN new.`processed_at` IS NOT NULL AND new.`processed_at` IS NOT old.`processed_at` BEGIN
	INSERT INTO `ops_counts` (`minute`, `series`, `n`) VALUES ((new.`processed_at` + 59999) / 60000, 'processed', 1)
	ON CONFLICT (`minute`, `series`) DO UPDATE SET `n` = `n` + 1;
	INSERT INTO `ops_latency` (`minute`, `series`, `lo`, `n`, `sum_ms`)
	SELECT (new.`processed_at` + 59999) / 60000, 'uploaded_to_processed',
		(SELECT MAX(`lo`) FROM `ops_latency_bounds` WHERE `lo` <= new.`processed_at` - new.`uploaded_at`),
		1, new.`processed_at` - new.`uploaded_at`
	WHERE new.`uploaded_at` IS NOT NULL AND new.`processed_at` >= new.`uploaded_at`
	ON CONFLICT (`minute`, `series`, `lo`) DO UPDATE SET `n` = `n` + 1, `sum_ms` = `sum_ms` + excluded.`sum_ms`;
END;
--> statement-breakpoint
CREATE TRIGGER `assets_rollup_ready` AFTER UPDATE OF `ready_at` ON `assets`
WHEN new.`ready_at` IS NOT NULL AND new.`ready_at` IS NOT old.`ready_at` BEGIN
	INSERT INTO `ops_counts` (`minute`, `series`, `n`) VALUES ((new.`ready_at` + 59999) / 60000, 'ready', 1)
	ON CONFLICT (`minute`, `series`) DO UPDATE SET `n` = `n` + 1;
	INSERT INTO `ops_latency` (`minute`, `series`, `lo`, `n`, `sum_ms`)
	SELECT (new.`ready_at` + 59999) / 60000, 'processed_to_ready',
		(SELECT MAX(`lo`) FROM `ops_latency_bounds` WHERE `lo` <= new.`ready_at` - new.`processed_at`),
		1, new.`ready_at` - new.`processed_at`
	WHERE new.`processed_at` IS NOT NULL AND new.`ready_at` >= new.`processed_at`
	ON CONFLICT (`minute`, `series`, `lo`) DO UPDATE SET `n` = `n` + 1, `sum_ms` = `sum_ms` + excluded.`sum_ms`;
END;
--> statement-breakpoint
CREATE TRIGGER `assets_rollup_retried` AFTER UPDATE OF `retried_at` ON `assets`
WHEN new.`retried_at` IS NOT NULL AND new.`retried_at` IS NOT old.`retried_at` BEGIN
	INSERT INTO `ops_counts` (`minute`, `series`, `n`) VALUES ((new.`retried_at` + 59999) / 60000, 'retried', 1)
	ON CONFLICT (`minute`, `series`) DO UPDATE SET `n` = `n` + 1;
END;
--> statement-breakpoint
-- Entering `failed` (json_valid first: a malformed error must not fail the write).
CREATE TRIGGER `assets_rollup_failed` AFTER UPDATE OF `status` ON `assets`
WHEN new.`status` = 'failed' AND old.`status` IS NOT 'failed' BEGIN
	INSERT INTO `ops_failures` (`minute`, `stage`, `code`, `n`) VALUES (
		(COALESCE(new.`status_at`, new.`updated_at`) + 59999) / 60000,
		COALESCE(CASE WHEN json_valid(new.`error`) THEN json_extract(new.`error`, '$.stage') END, ''),
		COALESCE(CASE WHEN json_valid(new.`error`) THEN json_extract(new.`error`, '$.code') END, ''), 1)
	ON CONFLICT (`minute`, `stage`, `code`) DO UPDATE SET `n` = `n` + 1;
END;
--> statement-breakpoint
CREATE TRIGGER `assets_failed_now_leave` AFTER UPDATE OF `status`, `error` ON `assets`
WHEN old.`status` = 'failed' BEGIN
	UPDATE `ops_failed_now` SET `n` = `n` - 1
	WHERE `stage` = COALESCE(CASE WHEN json_valid(old.`error`) THEN json_extract(old.`error`, '$.stage') END, '')
		AND `code` = COALESCE(CASE WHEN json_valid(old.`error`) THEN json_extract(old.`error`, '$.code') END, '');
END;
--> statement-breakpoint
CREATE TRIGGER `assets_failed_now_enter` AFTER UPDATE OF `status`, `error` ON `assets`
WHEN new.`status` = 'failed' BEGIN
	INSERT INTO `ops_failed_now` (`stage`, `code`, `n`) VALUES (
		COALESCE(CASE WHEN json_valid(new.`error`) THEN json_extract(new.`error`, '$.stage') END, ''),
		COALESCE(CASE WHEN json_valid(new.`error`) THEN json_extract(new.`error`, '$.code') END, ''), 1)
	ON CONFLICT (`stage`, `code`) DO UPDATE SET `n` = `n` + 1;
END;
--> statement-breakpoint
CREATE TRIGGER `assets_failed_now_delete` AFTER DELETE ON `assets`
WHEN old.`status` = 'failed' BEGIN
	UPDATE `ops_failed_now` SET `n` = `n` - 1
	WHERE `stage` = COALESCE(CASE WHEN json_valid(old.`error`) THEN json_extract(old.`error`, '$.stage') END, '')
		AND `code` = COALESCE(CASE WHEN json_valid(old.`error`) THEN json_extract(old.`error`, '$.code') END, '');
END;
--> statement-breakpoint
-- A row inserted with its history (a copy): every stamp it carries is an event.
CREATE TRIGGER `assets_rollup_insert` AFTER INSERT ON `assets` BEGIN
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
	INSERT INTO `ops_failed_now` (`stage`, `code`, `n`)
	SELECT COALESCE(CASE WHEN json_valid(new.`error`) THEN json_extract(new.`error`, '$.stage') END, ''),
		COALESCE(CASE WHEN json_valid(new.`error`) THEN json_extract(new.`error`, '$.code') END, ''), 1
	WHERE new.`status` = 'failed'
	ON CONFLICT (`stage`, `code`) DO UPDATE SET `n` = `n` + 1;
END;
--> statement-breakpoint
-- What is already there: assets failed now, and the last day of events and timings.
INSERT INTO `ops_failed_now` (`stage`, `code`, `n`)
	SELECT COALESCE(CASE WHEN json_valid(`error`) THEN json_extract(`error`, '$.stage') END, ''),
		COALESCE(CASE WHEN json_valid(`error`) THEN json_extract(`error`, '$.code') END, ''), COUNT(*)
	FROM `assets` WHERE `status` = 'failed' GROUP BY 1, 2;
