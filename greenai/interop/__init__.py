"""Exchange with other tools' formats."""
