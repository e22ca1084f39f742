"""Scheduled jobs: the scheduler `connector serve` runs and the SLA alert job."""
