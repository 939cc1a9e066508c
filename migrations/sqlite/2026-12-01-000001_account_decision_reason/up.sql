-- Why an administrator rejected a sign-up: the person sees it when they try to sign in.
ALTER TABLE users ADD COLUMN decision_reason TEXT;
