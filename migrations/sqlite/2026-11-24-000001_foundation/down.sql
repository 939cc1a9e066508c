DROP TABLE key_managers;
DROP TABLE throttling_policies;
DROP TABLE login_throttles;
DROP TABLE sessions;
DROP TABLE users;
