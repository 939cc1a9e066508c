DROP TABLE key_manager_tasks;
DROP TABLE key_mappings;
