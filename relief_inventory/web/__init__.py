"""Public pages (no login): the verification page a printed QR code opens."""
