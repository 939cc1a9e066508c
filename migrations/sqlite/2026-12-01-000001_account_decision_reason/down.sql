ALTER TABLE users DROP COLUMN decision_reason;
