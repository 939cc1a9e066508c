ALTER TABLE key_manager_tasks DROP COLUMN claimed_until;
