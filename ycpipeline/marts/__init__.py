"""The marts: plain SQL per mart (`sql/*.sql`), rebuilt incrementally by `refresh` (docs/marts.md)."""
