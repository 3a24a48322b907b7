"""Relief-material inventory and relief-fund disbursement for a prefecture emergency bureau."""

__version__ = "0.1.0"
