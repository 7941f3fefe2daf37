"""The salons: the warehouse's list of tracked companies, and the sensor that keeps the partitions in step."""
