"""cxcore: a self-hosted customer-experience platform."""
