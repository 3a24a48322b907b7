"""Running the system for real: production settings, structured logs with request ids,
health and readiness, serving limits, database-outage answers, backup and restore, seed
completion marks and master-data import (issue 13)."""
