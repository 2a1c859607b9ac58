"""The Dagster wing: assets, checks, jobs, sensors, schedules and thin resources."""
