-- Roles are shared by every database of the cluster; they are left in place on purpose.
SELECT 1;
