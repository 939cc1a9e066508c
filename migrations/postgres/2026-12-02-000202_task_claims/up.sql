-- While an administrator's retry of a task calls its key manager, the task is claimed until
-- this time (Unix seconds): a second retry, at this or another instance, is refused meanwhile,
-- and a claim left by a stopped process lapses.
ALTER TABLE key_manager_tasks ADD COLUMN claimed_until BIGINT;
